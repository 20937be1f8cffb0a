import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as YAML from 'yaml';
import { sidecarModeAwareTemplate } from '../injection-template';
import { ISTIO_WORKLOAD_SOCKET_DIRS } from '../istio';
import { checkDnsLabel, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { SpiffeCsiDriver } from './spiffe-csi-driver';

/**
 * Where the injector puts istio-proxy in application pods, mesh-wide
 * (`ENABLE_NATIVE_SIDECARS`); a pod can override it with the annotation
 * `sidecar.istio.io/nativeSidecar`, and the `spire` template follows.
 * - `native`: an init container with `restartPolicy: Always` (Kubernetes
 *   native sidecar). Istio's default since 1.27.
 * - `classic`: a regular container, as before.
 */
export type SidecarMode = 'native' | 'classic';

export interface IstioSpireProfileProps {
  /** The CSI driver that mounts the agent's socket; trust domain, driver name and socket come from it. */
  readonly csiDriver: SpiffeCsiDriver;
  /** How istio-proxy is injected into application pods. @default "native" */
  readonly sidecarMode?: SidecarMode;
  /** Name of the IstioOperator. @default "istio-spire" */
  readonly name?: string;
  /** Istio base profile. @default "default" */
  readonly profile?: string;
}

/** Istio's name for the volume istio-proxy reads the SDS socket from; the injected templates define it too. */
export const WORKLOAD_SOCKET_VOLUME = 'workload-socket';
const PROXY_CONTAINER = 'istio-proxy';
const ISTIO_DEFAULT_SOCKET_FILE = 'socket';

/**
 * The Istio install profile that makes Envoy take its identity from SPIRE: an
 * `IstioOperator` for `istioctl install -f`, with the mesh's trust domain set
 * to SPIRE's and two injection templates. `spire` mounts the SPIFFE CSI
 * volume into istio-proxy of application pods (as a container or, under
 * native sidecars, an init container); `spire-gateway` does the same for
 * gateways, whose istio-proxy is always a container. `helmValues` holds the
 * same settings for installing istiod with Helm.
 */
export class IstioSpireProfile extends Construct {
  public readonly trustDomain: string;
  public readonly sidecarMode: SidecarMode;
  public readonly csiDriver: SpiffeCsiDriver;
  /** Name of the injection template for application pods. */
  public readonly sidecarTemplateName = 'spire';
  /** Name of the injection template for gateways. */
  public readonly gatewayTemplateName = 'spire-gateway';
  /** `inject.istio.io/templates` value of a SPIRE-enabled application pod. */
  public readonly sidecarTemplates: string;
  /** `inject.istio.io/templates` value of a SPIRE-enabled gateway pod. */
  public readonly gatewayTemplates: string;
  /** The directory istio-proxy mounts the CSI volume at: the agent's socket directory. */
  public readonly socketMountPath: string;
  /** The rendered injection templates, by name. */
  public readonly injectionTemplates: Readonly<Record<string, string>>;

  /** Name of the IstioOperator. */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: IstioSpireProfileProps) {
    super(scope, id);
    this.name = props.name ?? 'istio-spire';
    this.csiDriver = props.csiDriver;
    this.trustDomain = props.csiDriver.agent.trustDomain;
    this.sidecarMode = props.sidecarMode ?? 'native';
    this.socketMountPath = props.csiDriver.workloadApi.dir;
    this.sidecarTemplates = `sidecar,${this.sidecarTemplateName}`;
    this.gatewayTemplates = `gateway,${this.gatewayTemplateName}`;
    this.injectionTemplates = {
      [this.sidecarTemplateName]: this.renderSidecarTemplate(),
      [this.gatewayTemplateName]: this.renderGatewayTemplate(),
    };

    new ApiObject(this, 'IstioOperator', {
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: this.name, namespace: 'istio-system' },
      spec: {
        profile: props.profile ?? 'default',
        meshConfig: this.meshConfig,
        values: this.values,
        components: {
          // The ingress gateway is deployed as an injected Deployment with the spire-gateway template.
          ingressGateways: [{ name: 'istio-ingressgateway', enabled: false }],
        },
      },
    });
    validateAtSynth(this, () => this.checks());
  }

  /** The same settings as values of Istio's `istiod` Helm chart. */
  public get helmValues(): object {
    return { meshConfig: this.meshConfig, ...this.values };
  }

  private get meshConfig(): object {
    const socketFile = this.csiDriver.workloadApi.fileName;
    return {
      trustDomain: this.trustDomain,
      ...(socketFile === ISTIO_DEFAULT_SOCKET_FILE
        ? {}
        : { defaultConfig: { proxyMetadata: { WORKLOAD_IDENTITY_SOCKET_FILE: socketFile } } }),
    };
  }

  private get values(): { pilot: object; sidecarInjectorWebhook: object } {
    return {
      pilot: { env: { ENABLE_NATIVE_SIDECARS: String(this.sidecarMode === 'native') } },
      sidecarInjectorWebhook: { templates: { ...this.injectionTemplates } },
    };
  }

  /**
   * The strategic-merge patch both templates apply: Istio's own
   * `workload-socket` emptyDir becomes the SPIFFE CSI volume (`emptyDir: null`
   * drops the emptyDir the gateway template defines), mounted read-only into
   * istio-proxy where the agent serves.
   */
  private get proxyPatch(): object {
    return {
      name: PROXY_CONTAINER,
      volumeMounts: [{ name: WORKLOAD_SOCKET_VOLUME, mountPath: this.socketMountPath, readOnly: true }],
    };
  }

  private get socketVolumes(): object[] {
    return [{ name: WORKLOAD_SOCKET_VOLUME, emptyDir: null, csi: { driver: this.csiDriver.driverName, readOnly: true } }];
  }

  /**
   * Application pods: istio-proxy is an init container under native sidecars
   * and a container otherwise. The template follows the mode Istio injects each
   * pod with (the mesh setting or the pod's sidecar.istio.io/nativeSidecar),
   * so patching the wrong list, which would add a second, image-less
   * istio-proxy, cannot happen.
   */
  private renderSidecarTemplate(): string {
    return sidecarModeAwareTemplate(this.proxyPatch, this.socketVolumes);
  }

  /** Gateways: istio-proxy is always a container. */
  private renderGatewayTemplate(): string {
    return YAML.stringify({ spec: { containers: [this.proxyPatch], volumes: this.socketVolumes } }, { lineWidth: 0 });
  }

  private checks(): Check[] {
    return [
      ['name', checkDnsLabel(this.name)],
      ['agent socketDir', this.checkSocketDir()],
    ];
  }

  private checkSocketDir(): Problem | undefined {
    if (ISTIO_WORKLOAD_SOCKET_DIRS.includes(this.socketMountPath)) return undefined;
    return {
      value: this.socketMountPath,
      rule: `istio-proxy reads the SDS socket only from ${ISTIO_WORKLOAD_SOCKET_DIRS[1]} (alias ${ISTIO_WORKLOAD_SOCKET_DIRS[0]})`,
      fix: `leave SpireAgentDaemonSet socketDir at its default "${ISTIO_WORKLOAD_SOCKET_DIRS[0]}"`,
    };
  }
}
