import * as fs from 'fs';
import * as path from 'path';
import { App, Yaml } from 'cdk8s';
import { CrdsChart } from './charts/crds-chart';
import { IdentitiesChart } from './charts/identities-chart';
import { IstioProfileChart } from './charts/istio-profile-chart';
import { SpireChart } from './charts/spire-chart';
import { WorkloadsChart } from './charts/workloads-chart';
import { SidecarMode } from './constructs/istio-spire-profile';
import { omitServerNormalisedFields } from './server-normal-form';

/** The few settings of the default deployment a user changes without code. */
export interface DeploymentSettings {
  /** @default "example.org" */
  readonly trustDomain: string;
  /** @default "demo-cluster" */
  readonly clusterName: string;
  /** @default "native" */
  readonly sidecarMode: SidecarMode;
}

export const DEFAULT_SETTINGS: DeploymentSettings = {
  trustDomain: 'example.org',
  clusterName: 'demo-cluster',
  sidecarMode: 'native',
};

const SIDECAR_MODES: readonly SidecarMode[] = ['native', 'classic'];

/**
 * Reads the settings from the environment: SPIRE_TRUST_DOMAIN,
 * SPIRE_CLUSTER_NAME and ISTIO_SIDECAR_MODE. Unset means the default; a
 * value is taken as given and validated at synth.
 */
export function settingsFromEnvironment(env: Record<string, string | undefined>): DeploymentSettings {
  const sidecarMode = env.ISTIO_SIDECAR_MODE ?? DEFAULT_SETTINGS.sidecarMode;
  if (!SIDECAR_MODES.includes(sidecarMode as SidecarMode)) {
    throw new Error(`ISTIO_SIDECAR_MODE ${JSON.stringify(sidecarMode)}: must be one of ${SIDECAR_MODES.join(', ')}. Fix: unset it for Istio's default (native) or set "classic" for meshes with native sidecars turned off.`);
  }
  return {
    trustDomain: env.SPIRE_TRUST_DOMAIN ?? DEFAULT_SETTINGS.trustDomain,
    clusterName: env.SPIRE_CLUSTER_NAME ?? DEFAULT_SETTINGS.clusterName,
    sidecarMode: sidecarMode as SidecarMode,
  };
}

/** The charts of the default deployment, one per apply stage. */
export interface SpireIstioDeployment {
  readonly crds: CrdsChart;
  readonly spire: SpireChart;
  readonly identities: IdentitiesChart;
  readonly istio: IstioProfileChart;
  readonly workloads: WorkloadsChart;
}

/**
 * Builds the whole stack in an app. Each chart depends on the one before, so
 * `cdk8s synth` numbers the files in apply order:
 * CRDs → SPIRE → ClusterSPIFFEIDs → Istio profile → gateway and workloads.
 */
export function buildDeployment(app: App, settings: DeploymentSettings): SpireIstioDeployment {
  const crds = new CrdsChart(app, 'crds');
  const spire = new SpireChart(app, 'spire', {
    server: { trustDomain: settings.trustDomain, clusterName: settings.clusterName },
  });
  const identities = new IdentitiesChart(app, 'identities', { server: spire.server });
  const istio = new IstioProfileChart(app, 'istio-profile', { csiDriver: spire.csiDriver, sidecarMode: settings.sidecarMode });
  const workloads = new WorkloadsChart(app, 'workloads', { profile: istio.profile, identity: identities.meshIdentity });
  spire.addDependency(crds);
  identities.addDependency(spire);
  istio.addDependency(identities);
  workloads.addDependency(istio);
  return { crds, spire, identities, istio, workloads };
}

/** Where, under the output directory, the istiod Helm values land. */
export const HELM_VALUES_FILE = path.join('helm', 'istiod-values.yaml');

/**
 * Writes the manifests and, for users who install istiod with Helm instead of
 * istioctl, the profile's Helm values.
 */
export function synthesize(app: App, deployment: SpireIstioDeployment): void {
  omitServerNormalisedFields(app);
  app.synth();
  const valuesFile = path.join(app.outdir, HELM_VALUES_FILE);
  fs.mkdirSync(path.dirname(valuesFile), { recursive: true });
  Yaml.save(valuesFile, [deployment.istio.profile.helmValues]);
}
