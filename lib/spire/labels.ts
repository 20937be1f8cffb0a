/** The pod label the default ClusterSPIFFEID selects. No cdk8s here: the check command reads it too. */
export const SPIRE_MANAGED_IDENTITY_LABEL = 'spiffe.io/spire-managed-identity';
