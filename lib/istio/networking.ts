import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';

/** The networking.istio.io kinds the output uses; their CRDs come with Istio's installation. */
export const ISTIO_NETWORKING_API_VERSION = 'networking.istio.io/v1';
export const GATEWAY_KIND = 'Gateway';
export const VIRTUAL_SERVICE_KIND = 'VirtualService';

interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
}

export interface GatewayServer {
  readonly port: { readonly number: number; readonly name: string; readonly protocol: 'HTTP' };
  readonly hosts: string[];
}

export interface GatewaySpec {
  readonly selector: { [key: string]: string };
  readonly servers: GatewayServer[];
}

export interface HttpRouteDestination {
  readonly destination: { readonly host: string; readonly port: { readonly number: number } };
}

export interface VirtualServiceSpec {
  readonly hosts: string[];
  /** `<namespace>/<name>` of each Gateway the routes apply to. */
  readonly gateways: string[];
  readonly http: { readonly route: HttpRouteDestination[] }[];
}

export function gatewayObject(scope: Construct, id: string, metadata: ObjectMeta, spec: GatewaySpec): ApiObject {
  return new ApiObject(scope, id, { apiVersion: ISTIO_NETWORKING_API_VERSION, kind: GATEWAY_KIND, metadata, spec });
}

export function virtualServiceObject(scope: Construct, id: string, metadata: ObjectMeta, spec: VirtualServiceSpec): ApiObject {
  return new ApiObject(scope, id, { apiVersion: ISTIO_NETWORKING_API_VERSION, kind: VIRTUAL_SERVICE_KIND, metadata, spec });
}
