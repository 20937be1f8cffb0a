import { ISTIO_ROOT_CA_RESOURCE } from '../istio/names';

/**
 * The Envoy SDS settings a SPIRE agent serves with. The certificate's name
 * stays SPIRE's "default", the one istio-proxy asks for.
 */
export interface SdsModel {
  /** Validation context of the agent's own trust domain's bundle (`default_bundle_name`). */
  readonly bundleName: string;
  /** Validation context of all bundles, the federated ones included (`default_all_bundles_name`). */
  readonly allBundlesName: string;
  readonly disableSpiffeCertValidation: boolean;
}

/**
 * SPIRE's own SDS settings (`defaultConfig` in `cmd/spire-agent/cli/run/run.go`,
 * v1.15.3); their names are Istio's, so a default agent needs no `sds` block.
 */
export const SPIRE_SDS_DEFAULTS: SdsModel = {
  bundleName: ISTIO_ROOT_CA_RESOURCE,
  allBundlesName: 'ALL',
  disableSpiffeCertValidation: false,
};
