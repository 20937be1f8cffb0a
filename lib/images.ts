/**
 * Container images every component runs, pinned by release. Override any of
 * them through the constructs' `image` props (e.g. to pin a digest or use a
 * mirror); an unpinned image is a synth-time error.
 */
export const DEFAULT_IMAGES = {
  spireServer: 'ghcr.io/spiffe/spire-server:1.15.3',
  spireAgent: 'ghcr.io/spiffe/spire-agent:1.15.3',
  spireControllerManager: 'ghcr.io/spiffe/spire-controller-manager:0.7.0',
  spiffeCsiDriver: 'ghcr.io/spiffe/spiffe-csi-driver:0.2.13',
  csiLivenessProbe: 'registry.k8s.io/sig-storage/livenessprobe:v2.17.0',
  socketWait: 'docker.io/library/busybox:1.37.0',
  nodeDriverRegistrar: 'registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.15.0',
} as const;
