import { ApiObject, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import * as YAML from 'yaml';
import { sidecarModeAwareTemplate } from '../istio/injection-template';
import { ISTIO_DEFAULT_ROOT_NAMESPACE, ISTIO_WORKLOAD_SOCKET_DIRS } from '../istio/names';
import { mergeSettings, Settings, settingsConflicts, userMeshConfig, userValuesBesidesMeshConfig } from '../istio/mesh-settings';
import { checkDnsLabel, checkRelativeFile, checkTrustDomain, Problem } from '../validation/rules';
import { registerLayoutChecks } from '../mesh/layout-checks';
import { Check, validateAtSynth } from '../validation/validate';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { ClusterFederatedTrustDomain } from './cluster-federated-trust-domain';
import { SpiffeCsiDriver } from './spiffe-csi-driver';
import { isSpireIstioApp } from './spire-istio-app/brand';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

/**
 * Where the injector puts istio-proxy in application pods, mesh-wide
 * (`ENABLE_NATIVE_SIDECARS`); a pod can override it with the annotation
 * `sidecar.istio.io/nativeSidecar`, and the `spire` template follows.
 */
export enum SidecarMode {
  /** An init container with `restartPolicy: Always` (Kubernetes native sidecar). Istio's default since 1.27. */
  NATIVE = 'native',
  /** A regular container, as before. */
  CLASSIC = 'classic',
}

/** Settings of the Istio profile besides the CSI driver it mounts. */
export interface IstioSpireProfileOptions {
  /** How istio-proxy is injected into application pods. @default SidecarMode.NATIVE */
  readonly sidecarMode?: SidecarMode;
  /** Name of the IstioOperator. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /** Istio base profile. @default "default" */
  readonly profile?: string;
  /**
   * Istio revision of this control plane; namespaces then select its injector
   * with `istio.io/rev=<revision>`. @default the default revision
   */
  readonly revision?: string;
  /**
   * Other trust domains Istio treats as this one, e.g. while migrating from
   * an old trust domain. @default none
   */
  readonly trustDomainAliases?: string[];
  /**
   * Require an ALLOW policy (SpiffeAuthorizationPolicy) on every workload
   * whose identity federates: istiod accepts a partner trust domain's peers
   * mesh-wide, so only such a policy keeps the partner's other workloads out.
   * Turn it off only when you write the ALLOW policies yourself.
   * @default true
   */
  readonly requireFederatedAuthorization?: boolean;
  /**
   * Your own `meshConfig`, merged deeply with what SPIRE needs; a value that
   * contradicts it (another trust domain or socket file) is a synth error.
   * @default none
   */
  readonly meshConfig?: { [key: string]: any };
  /**
   * Your own Helm-style `values` (`pilot`, `global`, `sidecarInjectorWebhook`,
   * …), merged deeply; your own injection templates are kept beside SPIRE's.
   * A `meshConfig` here is merged into the profile's meshConfig like the
   * `meshConfig` prop (setting one key differently in both is a synth error).
   * @default none
   */
  readonly values?: { [key: string]: any };
  /**
   * Your own IstioOperator `components`, merged deeply; gateway lists merge
   * by name. @default none
   */
  readonly components?: { [key: string]: any };
  /**
   * Where, under the app's output directory, `SpireIstioApp` writes the same
   * settings as values of Istio's istiod Helm chart.
   * @default "helm/<name>-istiod-values.yaml"
   */
  readonly helmValuesFile?: string;
  /**
   * Write the Helm values file. A plain cdk8s App writes no such file, so a
   * profile in one is a synth error unless this is false.
   * @default true
   */
  readonly writeHelmValues?: boolean;
}

export interface IstioSpireProfileProps extends IstioSpireProfileOptions {
  /** The CSI driver that mounts the agent's socket; trust domain, driver name and socket come from it. */
  readonly csiDriver: SpiffeCsiDriver;
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
export class IstioSpireProfile extends Construct implements IApplyStaged {
  /** Every IstioSpireProfile in the app that holds `scope`, in creation order. */
  public static allIn(scope: IConstruct): IstioSpireProfile[] {
    return IstioSpireProfile.byRoot.get(scope.node.root) ?? [];
  }

  private static readonly byRoot = new WeakMap<IConstruct, IstioSpireProfile[]>();

  public readonly trustDomain: string;
  public readonly sidecarMode: SidecarMode;
  public readonly csiDriver: SpiffeCsiDriver;
  /** Istio is installed once SPIRE runs. */
  public readonly applyStage = ApplyStage.ISTIO;
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
  public readonly injectionTemplates: { [name: string]: string };
  /** Name of the IstioOperator. */
  public readonly name: string;
  /** The Istio revision, when not the default one. */
  public readonly revision?: string;
  /** Where under the output directory the istiod Helm values are written. */
  public readonly helmValuesFile: string;
  /** Whether SpireIstioApp writes the Helm values file. */
  public readonly writesHelmValues: boolean;
  /** Whether every workload whose identity federates must be guarded by an ALLOW policy. */
  public readonly requireFederatedAuthorization: boolean;

  private readonly props: IstioSpireProfileProps;

  constructor(scope: Construct, id: string, props: IstioSpireProfileProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['csiDriver', SpiffeCsiDriver, 'the SpiffeCsiDriver whose socket istio-proxy mounts, e.g. mesh.csiDriver'],
    ]);
    this.props = props;
    this.name = props.name ?? defaultName(this);
    this.csiDriver = props.csiDriver;
    this.trustDomain = props.csiDriver.agent.trustDomain;
    this.sidecarMode = props.sidecarMode ?? SidecarMode.NATIVE;
    this.revision = props.revision;
    this.helmValuesFile = props.helmValuesFile ?? `helm/${this.name}-istiod-values.yaml`;
    this.writesHelmValues = props.writeHelmValues ?? true;
    this.requireFederatedAuthorization = props.requireFederatedAuthorization ?? true;
    this.socketMountPath = props.csiDriver.workloadApi.dir;
    this.sidecarTemplates = `sidecar,${this.sidecarTemplateName}`;
    this.gatewayTemplates = `gateway,${this.gatewayTemplateName}`;
    this.injectionTemplates = {
      [this.sidecarTemplateName]: this.renderSidecarTemplate(),
      [this.gatewayTemplateName]: this.renderGatewayTemplate(),
    };
    IstioSpireProfile.byRoot.set(this.node.root, [...IstioSpireProfile.allIn(this), this]);

    new ApiObject(this, 'IstioOperator', {
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: this.name, namespace: 'istio-system' },
      spec: {
        profile: props.profile ?? 'default',
        ...(this.revision === undefined ? {} : { revision: this.revision }),
        // Read at synth: federated trust domains may be declared after the profile.
        meshConfig: Lazy.any({ produce: () => this.meshConfig }),
        values: this.values,
        components: this.components,
      },
    });
    validateAtSynth(this, () => this.checks());
    ApplyStages.declare(this);
    registerLayoutChecks(this);
  }

  /** The SPIRE agent whose socket Istio's proxies read. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [{ construct: this.csiDriver.agent, reason: 'SPIRE must run before Istio and its gateways start' }];
  }

  /** The namespace whose Istio policies apply to the whole mesh (`meshConfig.rootNamespace`). */
  public get rootNamespace(): string {
    return this.meshConfig.rootNamespace ?? ISTIO_DEFAULT_ROOT_NAMESPACE;
  }

  /** The same settings as values of Istio's `istiod` Helm chart. */
  public get helmValues(): any {
    return {
      ...(this.revision === undefined ? {} : { revision: this.revision }),
      meshConfig: this.meshConfig,
      ...this.values,
    };
  }

  /**
   * Trust domains the server federates with. Istio accepts a peer certificate
   * on inbound mTLS only from the mesh's trust domain, its aliases and the
   * trust domains of `meshConfig.caCertificates` (istiod's
   * TrustDomainsForValidation), so each gets an entry there. The entries carry
   * no certificate: Envoy gets the partners' roots from SPIRE's SDS.
   */
  public get federatedTrustDomains(): string[] {
    return ClusterFederatedTrustDomain.of(this.csiDriver.agent.server).map((domain) => domain.trustDomain);
  }

  private get meshConfig(): Settings {
    const socketFile = this.csiDriver.workloadApi.fileName;
    const aliases = this.props.trustDomainAliases ?? [];
    const federated = this.federatedTrustDomains;
    return mergeSettings({
      trustDomain: this.trustDomain,
      ...(aliases.length === 0 ? {} : { trustDomainAliases: [...aliases] }),
      ...(federated.length === 0 ? {} : { caCertificates: federated.map((trustDomain) => ({ trustDomains: [trustDomain] })) }),
      ...(socketFile === ISTIO_DEFAULT_SOCKET_FILE
        ? {}
        : { defaultConfig: { proxyMetadata: { WORKLOAD_IDENTITY_SOCKET_FILE: socketFile } } }),
    }, userMeshConfig(this.props));
  }

  private get values(): Settings {
    return mergeSettings({
      pilot: { env: { ENABLE_NATIVE_SIDECARS: String(this.sidecarMode === SidecarMode.NATIVE) } },
      sidecarInjectorWebhook: { templates: { ...this.injectionTemplates } },
    }, userValuesBesidesMeshConfig(this.props));
  }

  private get components(): Settings {
    // The ingress gateway is deployed as an injected Deployment with the spire-gateway template.
    return mergeSettings({ ingressGateways: [{ name: 'istio-ingressgateway', enabled: false }] }, this.props.components);
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
    const conflicts = settingsConflicts({
      trustDomain: this.trustDomain,
      socketFileName: this.csiDriver.workloadApi.fileName,
      nativeSidecars: this.sidecarMode === SidecarMode.NATIVE,
      templateNames: Object.keys(this.injectionTemplates),
      federatedTrustDomains: this.federatedTrustDomains,
    }, this.props);
    return [
      ['name', checkDnsLabel(this.name)],
      ['revision', this.revision === undefined ? undefined : checkDnsLabel(this.revision)],
      ['agent socketDir', this.checkSocketDir()],
      ['profile', this.props.profile === 'ambient' ? {
        value: 'ambient',
        rule: 'ztunnel, the ambient data plane, does not take workload identities from SPIRE',
        fix: 'use the "default" profile with sidecars',
      } : undefined],
      ...(this.props.trustDomainAliases ?? []).map((alias): Check => ['trustDomainAliases', this.checkAlias(alias)]),
      ...conflicts.map(({ prop, problem }): Check => [prop, problem]),
      ['helmValuesFile', checkRelativeFile(this.helmValuesFile)],
      ['helmValuesFile', this.checkHelmValuesWritten()],
    ];
  }

  private checkHelmValuesWritten(): Problem | undefined {
    if (!this.writesHelmValues) return undefined;
    if (!isSpireIstioApp(this.node.root)) {
      return {
        value: this.helmValuesFile,
        rule: 'a plain cdk8s App writes only manifests, so the istiod Helm values would be missing from the output',
        fix: 'create the app with `new SpireIstioApp()` (it takes the same props as App), or set writeHelmValues: false when you install Istio with istioctl only',
      };
    }
    const other = IstioSpireProfile.allIn(this).find((profile) => profile !== this && profile.writesHelmValues && profile.helmValuesFile === this.helmValuesFile);
    return other === undefined ? undefined : {
      value: this.helmValuesFile,
      rule: `${other.node.path} writes its Helm values to the same file`,
      fix: 'give each profile its own helmValuesFile',
    };
  }

  private checkAlias(alias: string): Problem | undefined {
    if (alias !== this.trustDomain) return checkTrustDomain(alias);
    return { value: alias, rule: 'the mesh\'s own trust domain is not an alias of itself', fix: 'remove it from trustDomainAliases' };
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
