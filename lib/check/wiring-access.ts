import { ISTIO_DEFAULT_ROOT_NAMESPACE } from '../istio/names';
import { selectorMatches } from '../kube/label-selector';
import { describe, KubeObject, ManifestObject } from './manifests';
import { MeshModel, PodTemplate } from './model';
import { podsWithPrincipal, principalsOf, spireEnabledPods } from './rules';

/** An AuthorizationPolicy: the SPIRE-enabled pods it guards, and whom each principal it names is. */
export interface Authorization {
  readonly policy: string;
  readonly action: string;
  readonly guarded: PodTemplate[];
  readonly principals: Array<{ readonly principal: string; readonly pods: PodTemplate[] }>;
  readonly mtls: string;
}

/** A VirtualService bound to a Gateway: its hosts, the Gateway and where requests go. */
export interface IngressRoute {
  readonly route: string;
  readonly namespace: string;
  readonly hosts: string[];
  readonly gatewayReference: string;
  readonly gateway?: KubeObject;
  readonly destinations: string[];
}

export function authorizations(model: MeshModel): Authorization[] {
  return model.authorizationPolicies.map(({ value }) => {
    const namespace = value.metadata?.namespace ?? 'default';
    return {
      policy: describe(value),
      action: String(value.spec?.action ?? 'ALLOW'),
      guarded: spireEnabledPods(model).filter((pod) => pod.namespace === namespace && selectorMatches(value.spec?.selector, pod.metadata.labels ?? {})),
      principals: principalsOf(value).map((principal) => ({ principal, pods: podsWithPrincipal(model, principal) })),
      mtls: mtlsModeIn(model, namespace),
    };
  });
}

/** The namespace-wide mTLS mode a namespace gets: its own PeerAuthentication without selector, else the mesh-wide one. */
function mtlsModeIn(model: MeshModel, namespace: string): string {
  const rootNamespace = String(model.istioSources[0]?.value.spec?.meshConfig?.rootNamespace ?? ISTIO_DEFAULT_ROOT_NAMESPACE);
  const wide = model.peerAuthentications.filter(({ value }) => value.spec?.selector === undefined);
  const inNamespace = (name: string) => wide.find(({ value }) => (value.metadata?.namespace ?? 'default') === name);
  const policy = inNamespace(namespace) ?? inNamespace(rootNamespace);
  if (!policy) return 'not set (Istio\'s default, PERMISSIVE)';
  return `${policy.value.spec?.mtls?.mode ?? 'UNSET'} (PeerAuthentication ${policy.value.metadata?.namespace}/${policy.value.metadata?.name})`;
}

const qualified = (namespace: string | undefined, name: string) => (name.includes('/') ? name : `${namespace ?? 'default'}/${name}`);

export function ingressRoutes(objects: ManifestObject[]): IngressRoute[] {
  const istio = objects.map(({ doc }) => doc).filter((doc) => String(doc.apiVersion).startsWith('networking.istio.io/'));
  const gateways = new Map(istio.filter((doc) => doc.kind === 'Gateway').map((doc) => [qualified(doc.metadata?.namespace, doc.metadata?.name ?? ''), doc]));
  return istio.filter((doc) => doc.kind === 'VirtualService').flatMap((route) => (route.spec?.gateways ?? [])
    .filter((reference: string) => reference !== 'mesh')
    .map((reference: string) => ({
      route: describe(route),
      namespace: route.metadata?.namespace ?? 'default',
      hosts: (route.spec?.hosts ?? []).map(String),
      gatewayReference: reference,
      gateway: gateways.get(qualified(route.metadata?.namespace, reference)),
      destinations: (route.spec?.http ?? []).flatMap((http: any) => (http.route ?? [])
        .map(({ destination }: any) => `${destination?.host}:${destination?.port?.number ?? 'any'}`)),
    })));
}

/** The pods a Gateway's selector picks, in any namespace, as Istio does by default. */
export function gatewayPods(pods: PodTemplate[], gateway: KubeObject | undefined): PodTemplate[] {
  const selector = gateway?.spec?.selector;
  return selector ? pods.filter((pod) => selectorMatches({ matchLabels: selector }, pod.metadata.labels ?? {})) : [];
}

/** The pods behind a destination host: a Service named by its short or cluster-local name, and the pods it selects. */
export function destinationPods(model: MeshModel, route: IngressRoute, pods: PodTemplate[]): PodTemplate[] {
  return route.destinations.flatMap((destination) => {
    const [name, namespace = route.namespace] = destination.replace(/:[^:]*$/, '').split('.');
    const service = model.services.find(({ value }) => value.metadata?.name === name && (value.metadata?.namespace ?? 'default') === namespace);
    const selector = service?.value.spec?.selector;
    return selector ? pods.filter((pod) => pod.namespace === namespace && selectorMatches({ matchLabels: selector }, pod.metadata.labels ?? {})) : [];
  });
}
