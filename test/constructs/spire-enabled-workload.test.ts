import { JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ClusterSpiffeId } from '../../lib/constructs/cluster-spiffe-id';
import { IstioIngressGateway } from '../../lib/constructs/istio-ingress-gateway';
import { SpireAgentDaemonSet } from '../../lib/constructs/spire-agent-daemon-set';
import { SpireEnabledWorkload } from '../../lib/constructs/spire-enabled-workload';
import { SpireServer } from '../../lib/constructs/spire-server';
import { MeshNamespace } from '../../lib/constructs/mesh-namespace';
import { WorkloadProbe } from '../../lib/kube/probe';
import { buildStack, synthErrors } from '../support/stack';

function workloadStack() {
  const stack = buildStack();
  const namespace = MeshNamespace.create(stack.apps, 'Shop', { name: 'shop' });
  return { ...stack, namespace };
}

const IMAGE = 'registry.example/cart:1.4.2';

describe('SpireEnabledWorkload', () => {
  test('a workload gets its own service account, the selector label and the template annotation', () => {
    const { app, apps, namespace, profile, identity } = workloadStack();
    const cart = new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE, port: 8080 });
    expect(synthErrors(app)).toEqual([]);
    const pod = cart.deployment.toJson().spec.template;
    expect(pod.metadata.labels['spiffe.io/spire-managed-identity']).toBe('true');
    expect(pod.metadata.annotations['inject.istio.io/templates']).toBe('sidecar,spire');
    expect(pod.spec.serviceAccountName).toBe('cart');
    expect(cart.spiffeId).toBe('spiffe://example.org/ns/shop/sa/cart');
    expect(cart.service?.name).toBe('cart');
  });

  test('a probe of its own replaces the default for readiness and liveness', () => {
    const { apps, namespace, profile, identity } = workloadStack();
    const container = (probe?: WorkloadProbe) => new SpireEnabledWorkload(apps, `Cart${probe ? 'Probed' : ''}`, {
      profile, identity, namespace, name: 'cart', image: IMAGE, port: 8080, probe,
    }).deployment.toJson().spec.template.spec.containers[0];
    expect(container().readinessProbe.httpGet).toEqual({ path: '/', port: 8080, scheme: 'HTTP' });
    const probed = container(WorkloadProbe.fromHttpGet('/healthz', { periodSeconds: 5, failureThreshold: 2 }));
    expect(probed.readinessProbe).toEqual({ httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 2 });
    expect(probed.livenessProbe).toEqual(probed.readinessProbe);
  });

  test('a probe runs a command or connects to a port', () => {
    const { apps, namespace, profile, identity } = workloadStack();
    const probeOf = (id: string, probe: WorkloadProbe) => new SpireEnabledWorkload(apps, id, {
      profile, identity, namespace, name: id.toLowerCase(), image: IMAGE, port: 8080, probe,
    }).deployment.toJson().spec.template.spec.containers[0].livenessProbe;
    expect(probeOf('Exec', WorkloadProbe.fromCommand(['cat', '/tmp/ready'], { initialDelaySeconds: 3 }))).toEqual({ exec: { command: ['cat', '/tmp/ready'] }, initialDelaySeconds: 3, failureThreshold: 3 });
    expect(probeOf('Tcp', WorkloadProbe.fromTcpSocket({ port: 9000, timeoutSeconds: 2 }))).toEqual({ tcpSocket: { port: 9000 }, timeoutSeconds: 2, failureThreshold: 3 });
  });

  test('a namespace without Istio injection is rejected', () => {
    const { app, apps, profile, identity } = workloadStack();
    const plain = new kplus.Namespace(apps, 'Plain', { metadata: { name: 'plain' } });
    const namespace = MeshNamespace.fromNamespace(apps, 'PlainNamespace', plain);
    new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(app)).toEqual([expect.stringContaining('[apps/Cart/Deployment] namespace "plain (adopted with MeshNamespace.fromNamespace)": Istio injects no sidecar in this namespace')]);
  });

  test('a pod no ClusterSPIFFEID selects is rejected', () => {
    const { app, apps, namespace, profile, server } = workloadStack();
    const narrow = new ClusterSpiffeId(apps, 'Narrow', { server, name: 'narrow', namespaceSelector: { matchLabels: { team: 'payments' } } });
    new SpireEnabledWorkload(apps, 'Cart', { profile, identity: narrow, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(app)).toEqual([expect.stringContaining('identity "shop/cart": ClusterSPIFFEID "narrow" does not select this pod')]);
  });

  test('a pod two ClusterSPIFFEIDs give different IDs is rejected', () => {
    const { app, apps, namespace, profile, identity, server } = workloadStack();
    new ClusterSpiffeId(apps, 'Other', { server, name: 'other', spiffeIdTemplate: 'spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}-x', istioIdentity: false });
    new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(app)).toEqual([expect.stringContaining('ClusterSPIFFEIDs give it different IDs: istio-mesh-workloads → spiffe://example.org/ns/shop/sa/cart; other → spiffe://example.org/ns/shop/sa/cart-x')]);
  });

  test('a ClusterSPIFFEID added after an earlier synth is seen by the next one', () => {
    const { app, apps, namespace, profile, identity, server } = workloadStack();
    new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(app)).toEqual([]);
    new ClusterSpiffeId(apps, 'Late', { server, name: 'late', spiffeIdTemplate: 'spiffe://{{ .TrustDomain }}/late/{{ .PodSpec.ServiceAccountName }}', istioIdentity: false });
    expect(synthErrors(app)).toEqual([expect.stringContaining('ClusterSPIFFEIDs give it different IDs')]);
  });

  test('an identity from another trust domain than the mesh is rejected', () => {
    const { app, apps, namespace, profile } = workloadStack();
    const otherServer = new SpireServer(apps, 'OtherServer', { trustDomain: 'other.example', clusterName: 'c', namespace: 'other-spire' });
    new SpireAgentDaemonSet(apps, 'OtherAgent', { server: otherServer, namespace: 'other-agent' });
    const foreign = new ClusterSpiffeId(apps, 'Foreign', { server: otherServer, name: 'foreign' });
    new SpireEnabledWorkload(apps, 'Cart', { profile, identity: foreign, namespace, name: 'cart', image: IMAGE });
    expect(synthErrors(app)).toContainEqual(expect.stringContaining('identity trust domain "other.example": the ClusterSPIFFEID signs for other.example but the mesh trusts example.org'));
  });

  test('an existing cdk8s-plus Deployment can be enabled, and its mistakes are caught', () => {
    const { app, apps, namespace, profile, identity } = workloadStack();
    const existing = new kplus.Deployment(apps, 'Legacy', {
      metadata: { name: 'legacy', namespace: 'default' },
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(apps, 'LegacyAccount', 'legacy'),
      containers: [{ image: IMAGE, resources: {} }],
    });
    SpireEnabledWorkload.enable(existing, { profile, identity, namespace });
    expect(synthErrors(app)).toEqual([expect.stringContaining('workload namespace "default": the workload must run in the namespace "shop" it was given')]);
    expect(existing.podMetadata.getLabel('spiffe.io/spire-managed-identity')).toBe('true');
  });

  test('a pod opting out of injection is rejected', () => {
    const { app, apps, namespace, profile, identity } = workloadStack();
    const cart = new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE });
    cart.deployment.addJsonPatch(JsonPatch.add('/spec/template/metadata/labels/sidecar.istio.io~1inject', 'false'));
    expect(synthErrors(app)).toEqual([expect.stringContaining('the pod opts out of injection')]);
  });

  test('a pod may override the mesh\'s sidecar mode: the spire template follows it', () => {
    const { app, apps, namespace, profile, identity } = workloadStack();
    const cart = new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'cart', image: IMAGE });
    cart.deployment.addJsonPatch(JsonPatch.add('/spec/template/metadata/annotations/sidecar.istio.io~1nativeSidecar', 'false'));
    expect(synthErrors(app)).toEqual([]);
  });

  test('name, image and port are checked', () => {
    const { app, apps, namespace, profile, identity } = workloadStack();
    new SpireEnabledWorkload(apps, 'Cart', { profile, identity, namespace, name: 'Cart', image: 'cart', port: 0 });
    expect(synthErrors(app)).toEqual(expect.arrayContaining([
      expect.stringContaining('name "Cart"'),
      expect.stringContaining('image "cart"'),
      expect.stringContaining('port "0"'),
    ]));
  });

  test('the termination grace period is Kubernetes\' default unless set, and a whole number of seconds', () => {
    const { app, apps, namespace, profile, identity } = workloadStack();
    const workload = (id: string, seconds?: number) => new SpireEnabledWorkload(apps, id, {
      profile, identity, namespace, name: id.toLowerCase(), image: IMAGE, terminationGracePeriodSeconds: seconds,
    });
    const gracePeriod = (id: string, seconds?: number) => workload(id, seconds).deployment.toJson().spec.template.spec.terminationGracePeriodSeconds;
    expect(gracePeriod('Cart')).toBe(30);
    expect(gracePeriod('Sleeper', 0)).toBe(0);
    expect(synthErrors(app)).toEqual([]);
    workload('Slow', 2.5);
    expect(synthErrors(app)).toEqual([expect.stringContaining('terminationGracePeriodSeconds "2.5"')]);
  });

  test('the ingress gateway uses the gateway templates and its own identity', () => {
    const { app, apps, profile, identity } = workloadStack();
    const namespace = MeshNamespace.create(apps, 'Ingress', { name: 'istio-ingress' });
    const gateway = new IstioIngressGateway(apps, 'Gateway', { profile, identity, namespace });
    expect(synthErrors(app)).toEqual([]);
    const pod = gateway.deployment.toJson().spec.template;
    expect(pod.metadata.annotations['inject.istio.io/templates']).toBe('gateway,spire-gateway');
    expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('true');
    // Without a name, the gateway's name (and so its ID) derives from the construct path.
    expect(gateway.spiffeId).toBe('spiffe://example.org/ns/istio-ingress/sa/apps-gateway');
  });

  test('the gateway waits for the agent socket before istio-proxy can start without it', () => {
    const { app, apps, profile, identity } = workloadStack();
    const namespace = MeshNamespace.create(apps, 'Ingress', { name: 'istio-ingress' });
    const gateway = new IstioIngressGateway(apps, 'Gateway', { profile, identity, namespace });
    const pod = gateway.deployment.toJson().spec.template.spec;
    const [wait] = pod.initContainers;
    const volume = pod.volumes.find((candidate: any) => candidate.name === wait.volumeMounts[0].name);
    expect(volume.csi).toEqual({ driver: profile.csiDriver.driverName, readOnly: true });
    expect(wait.command.join(' ')).toContain(`[ -S ${wait.volumeMounts[0].mountPath}/${profile.csiDriver.workloadApi.fileName} ]`);
    expect(synthErrors(app)).toEqual([]);
    new IstioIngressGateway(apps, 'Unpinned', { profile, identity, namespace, name: 'other', socketWaitImage: 'busybox' });
    expect(synthErrors(app)).toEqual([expect.stringContaining('socketWaitImage "busybox"')]);
  });
});
