import { SidecarMode } from '../constructs/istio-spire-profile';
import { synthFailure } from '../validation/synth-failure';

/** The few settings of the default deployment a user changes without code. */
export interface DefaultSettings {
  /** @default "example.org" */
  readonly trustDomain: string;
  /** @default "demo-cluster" */
  readonly clusterName: string;
  /** @default SidecarMode.NATIVE */
  readonly sidecarMode: SidecarMode;
}

const DEFAULTS: DefaultSettings = { trustDomain: 'example.org', clusterName: 'demo-cluster', sidecarMode: SidecarMode.NATIVE };
const SIDECAR_MODES = Object.values(SidecarMode) as string[];

/**
 * Reads the settings from the environment: SPIRE_TRUST_DOMAIN,
 * SPIRE_CLUSTER_NAME and ISTIO_SIDECAR_MODE. Unset means the default; a
 * value is taken as given and validated at synth.
 */
export function settingsFromEnvironment(env: { [name: string]: string | undefined }): DefaultSettings {
  const sidecarMode = env.ISTIO_SIDECAR_MODE ?? DEFAULTS.sidecarMode;
  if (!SIDECAR_MODES.includes(sidecarMode)) {
    throw synthFailure(`ISTIO_SIDECAR_MODE ${JSON.stringify(sidecarMode)}: must be one of ${SIDECAR_MODES.join(', ')}. Fix: unset it for Istio's default (native) or set "classic" for meshes with native sidecars turned off.`);
  }
  return {
    trustDomain: env.SPIRE_TRUST_DOMAIN ?? DEFAULTS.trustDomain,
    clusterName: env.SPIRE_CLUSTER_NAME ?? DEFAULTS.clusterName,
    sidecarMode: sidecarMode as SidecarMode,
  };
}
