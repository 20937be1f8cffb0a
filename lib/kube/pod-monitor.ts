import { ApiObject, ApiObjectMetadata, GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';

/** The part of prometheus-operator's PodMonitor (monitoring.coreos.com/v1) the project writes. */
export interface PodMonitorSpec {
  /** Namespaces whose pods are scraped. */
  readonly namespaceSelector: { readonly matchNames: string[] };
  /** Labels the scraped pods carry. */
  readonly selector: { readonly matchLabels: { [key: string]: string } };
  /** One endpoint per named container port. */
  readonly podMetricsEndpoints: PodMetricsEndpoint[];
}

export interface PodMetricsEndpoint {
  /** Name of the container port. */
  readonly port: string;
  /** HTTP path of the metrics. */
  readonly path: string;
}

export interface KubePodMonitorProps {
  readonly metadata: ApiObjectMetadata;
  readonly spec: PodMonitorSpec;
}

/** A PodMonitor; its CRD comes with prometheus-operator. */
export class KubePodMonitor extends ApiObject {
  public static readonly GVK: GroupVersionKind = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor' };

  public constructor(scope: Construct, id: string, props: KubePodMonitorProps) {
    super(scope, id, { ...KubePodMonitor.GVK, ...props });
  }
}
