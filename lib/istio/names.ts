/**
 * Istio's fixed names and paths that the constructs, the mesh checks and the
 * manifest checker all rely on. No cdk8s here: the check command loads it too.
 */

/** Istio's default `meshConfig.rootNamespace`: its policies apply to the whole mesh. */
export const ISTIO_DEFAULT_ROOT_NAMESPACE = 'istio-system';

/** Pod annotation that picks the injection templates of a pod. */
export const INJECT_TEMPLATES_ANNOTATION = 'inject.istio.io/templates';

/** Pod annotation with ProxyConfig fields that override `meshConfig.defaultConfig` for the pod (YAML). */
export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';

/** The namespace label that turns on Istio's sidecar injector. */
export const ISTIO_INJECTION_LABEL = 'istio-injection';

/** The namespace label that selects a revision's injector; it counts only without istio-injection. */
export const ISTIO_REVISION_LABEL = 'istio.io/rev';

/** The namespace (or pod) label that puts workloads into Istio's ambient data plane. */
export const ISTIO_DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';

/** The endpoint (and pod) label by which Istio's clients send mTLS to a destination: `istio`. */
export const ISTIO_TLS_MODE_LABEL = 'security.istio.io/tlsMode';

/** The pod label that opts a pod in or out of injection. */
export const SIDECAR_INJECT_LABEL = 'sidecar.istio.io/inject';

/** istio-proxy reads the SDS socket from this directory; `/var/run` is a link to `/run` in its image. */
export const ISTIO_WORKLOAD_SOCKET_DIRS = ['/run/secrets/workload-spiffe-uds', '/var/run/secrets/workload-spiffe-uds'];

/**
 * The Envoy SDS resource names istio-proxy asks the SPIRE agent for: its own
 * certificate ("default") and the roots it validates peers against ("ROOTCA").
 * Istio fixes both (`pkg/security`); no setting changes them.
 */
export const ISTIO_SVID_RESOURCE = 'default';
export const ISTIO_ROOT_CA_RESOURCE = 'ROOTCA';

/** Whether Istio injects sidecars into new pods of a namespace with these labels. */
export function injectionEnabled(namespaceLabels: { [key: string]: string }): boolean {
  const injection = namespaceLabels[ISTIO_INJECTION_LABEL];
  return injection === 'enabled' || (injection === undefined && Boolean(namespaceLabels[ISTIO_REVISION_LABEL]));
}
