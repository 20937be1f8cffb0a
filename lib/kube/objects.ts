/**
 * The one place where the project goes below cdk8s-plus: objects it has no
 * class for (CRDs, CSIDriver, webhook configurations) and the pod fields it
 * cannot express. JSON patches here apply to the typed props before they are
 * rendered, so they use the TypeScript field names (`hostPid`) and `Quantity`.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import { ApiResource, IApiEndpoint, IApiResource, Pod, Service, ServiceType as PlusServiceType } from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import { pointerKey } from './pod-template';
import { ServiceType } from './service-type';

export type { JsonSchemaProps } from 'cdk8s-plus-27/lib/imports/k8s';
export {
  IntOrString,
  KubeCsiDriver,
  KubeCustomResourceDefinition,
  KubeIngress,
  KubePodDisruptionBudget,
  KubeValidatingWebhookConfiguration,
  Quantity,
} from 'cdk8s-plus-27/lib/imports/k8s';
import { IntOrString, KubePodDisruptionBudget, Quantity } from 'cdk8s-plus-27/lib/imports/k8s';

/** Shares the node's PID namespace, which the SPIRE agent's `k8s` workload attestor needs. */
export function enableHostPid(workload: IConstruct): void {
  ApiObject.of(workload).addJsonPatch(JsonPatch.add('/spec/template/spec/hostPid', true));
}

/**
 * Gives each StatefulSet replica its own ReadWriteOnce volume, mounted into one
 * container. The mount names the claim template directly, so the pod template
 * declares no volume of that name.
 */
export function addVolumeClaimTemplate(statefulSet: IConstruct, claim: {
  name: string;
  storage: string;
  storageClassName?: string;
  containerIndex: number;
  mountPath: string;
}): void {
  const apiObject = ApiObject.of(statefulSet);
  apiObject.addJsonPatch(JsonPatch.add('/spec/volumeClaimTemplates', [{
    metadata: { name: claim.name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: Quantity.fromString(claim.storage) } },
      ...(claim.storageClassName === undefined ? {} : { storageClassName: claim.storageClassName }),
    },
  }]));
  apiObject.addJsonPatch(JsonPatch.add(`/spec/template/spec/containers/${claim.containerIndex}/volumeMounts/-`, {
    name: claim.name,
    mountPath: claim.mountPath,
  }));
  storeClaimTemplatesAsServerDoes(apiObject);
}

/**
 * The API server stores each claim template with `apiVersion`, `kind`, the
 * default `volumeMode` and a `Pending` status. The list is replaced as a whole
 * on apply, so anything less makes every re-apply a change. The typed props
 * have no place for these fields, so they are added to the rendered object.
 */
function storeClaimTemplatesAsServerDoes(apiObject: ApiObject): void {
  changeRendered(apiObject, (rendered) => {
    rendered.spec.volumeClaimTemplates = rendered.spec.volumeClaimTemplates.map((template: any) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      ...template,
      spec: { ...template.spec, volumeMode: template.spec.volumeMode ?? 'Filesystem' },
      status: { phase: 'Pending' },
    }));
  });
}

/** Changes an object's JSON after cdk8s rendered it, for values its typed props would not carry as given. */
export function changeRendered(construct: IConstruct, change: (rendered: any) => void): void {
  const apiObject = ApiObject.of(construct);
  const render = apiObject.toJson.bind(apiObject);
  apiObject.toJson = () => {
    const rendered = render();
    change(rendered);
    return rendered;
  };
}

/**
 * Spreads the replicas over nodes and zones. Two replicas on one node are not
 * highly available, so a node takes a second one only once every node the
 * pods may run on holds one (DoNotSchedule). Taints are honoured so that a
 * tainted node, e.g. a control plane, does not count as an empty node and
 * block the rest. Zones are preferred, not required (ScheduleAnyway): nodes
 * without a zone label, as in single-zone or on-premises clusters, would
 * otherwise take no replica at all.
 */
export function spreadOverNodesAndZones(workload: IConstruct, podLabels: { [key: string]: string }): void {
  const constraint = (topologyKey: string, whenUnsatisfiable: string) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    nodeTaintsPolicy: 'Honor',
    labelSelector: { matchLabels: podLabels },
  });
  ApiObject.of(workload).addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
    constraint('kubernetes.io/hostname', 'DoNotSchedule'),
    constraint('topology.kubernetes.io/zone', 'ScheduleAnyway'),
  ]));
}

/**
 * A PodDisruptionBudget that lets voluntary disruptions (node drains,
 * upgrades) take down one replica at a time, as the `DisruptionBudget` child
 * of `scope`; with `spreadOverNodesAndZones` it is what two or more replicas get.
 */
export function addDisruptionBudget(scope: Construct, metadata: { name: string; namespace: string }, podLabels: { [key: string]: string }): void {
  new KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata,
    spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: podLabels } },
  });
}

/**
 * Runs every container of the pod under the container runtime's default
 * seccomp profile, as the restricted Pod Security level requires.
 */
export function useRuntimeDefaultSeccomp(workload: IConstruct): void {
  ApiObject.of(workload).addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
}

/**
 * Mounts a projected, audience-bound service account token into one
 * container, as the agent's `k8s_psat` node attestor presents it.
 */
export function addProjectedServiceAccountToken(workload: IConstruct, token: {
  volumeName: string;
  containerIndex: number;
  mountPath: string;
  tokenPath: string;
  audience: string;
  expirationSeconds: number;
}): void {
  const apiObject = ApiObject.of(workload);
  apiObject.addJsonPatch(JsonPatch.add('/spec/template/spec/volumes/-', {
    name: token.volumeName,
    projected: {
      sources: [{
        serviceAccountToken: { path: token.tokenPath, audience: token.audience, expirationSeconds: token.expirationSeconds },
      }],
    },
  }));
  apiObject.addJsonPatch(JsonPatch.add(`/spec/template/spec/containers/${token.containerIndex}/volumeMounts/-`, {
    name: token.volumeName,
    mountPath: token.mountPath,
    readOnly: true,
  }));
}

/**
 * Removes the label cdk8s-plus derives from the construct path and puts on
 * every pod template, and on the selector of a Service that selects the
 * workload. The project's selectors use the pods' own name labels, and a
 * label that changes whenever code moves is noise in reviewed output.
 */
export function dropAddressLabel(workload: IConstruct, selectingService?: IConstruct): void {
  const label = pointerKey(Pod.ADDRESS_LABEL);
  ApiObject.of(workload).addJsonPatch(JsonPatch.remove(`/spec/template/metadata/labels/${label}`));
  if (selectingService) ApiObject.of(selectingService).addJsonPatch(JsonPatch.remove(`/spec/selector/${label}`));
}

/** Makes a Service select the pods that carry every one of `labels`. */
export function selectPodLabels(service: Service, labels: { [key: string]: string }): void {
  for (const [key, value] of Object.entries(labels)) service.selectLabel(key, value);
}

const PLUS_SERVICE_TYPES: Record<ServiceType, PlusServiceType> = {
  [ServiceType.CLUSTER_IP]: PlusServiceType.CLUSTER_IP,
  [ServiceType.NODE_PORT]: PlusServiceType.NODE_PORT,
  [ServiceType.LOAD_BALANCER]: PlusServiceType.LOAD_BALANCER,
};

/** The cdk8s-plus value the constructs build Services with. */
export function plusServiceType(type: ServiceType): PlusServiceType {
  return PLUS_SERVICE_TYPES[type];
}

/** A resource a ClusterRole or a Role can allow verbs on. */
export type RbacResource = IApiResource & IApiEndpoint;

/** One object of a resource type, by name, as a rule's `resourceNames` limits it. */
export function namedApiResource(resource: ApiResource, name: string): RbacResource {
  const named: RbacResource = {
    apiGroup: resource.apiGroup,
    resourceType: resource.resourceType,
    resourceName: name,
    asApiResource: () => named,
    asNonApiResource: () => undefined,
  };
  return named;
}
