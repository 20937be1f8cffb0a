import { Testing } from 'cdk8s';
import { DatabaseType, ServerDatastore } from '../../../lib/config/server-config';
import { ServiceType } from '../../../lib/kube/service-type';
import { StorageAccessMode } from '../../../lib/kube/storage-access-mode';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const manifestsOf = (server: StackOverrides['server'] = {}) => Testing.synth(buildStack({ server }).chart);
const statefulSetOf = (server: StackOverrides['server'] = {}) => manifestsOf(server).find((o: any) => o.kind === 'StatefulSet');
const serverContainerOf = (server: StackOverrides['server'] = {}) => statefulSetOf(server).spec.template.spec.containers[0];
const errorsOf = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);

describe('SpireServer workload', () => {
  describe('probes', () => {
    test('liveness asks only whether the process accepts connections, not SPIRE\'s /live, which fails with the datastore', () => {
      const container = serverContainerOf();
      expect(container.livenessProbe).toEqual({ tcpSocket: { port: 8080 }, periodSeconds: 30, failureThreshold: 3 });
      expect(JSON.stringify(container.livenessProbe)).not.toContain('/live');
      expect(container.ports).toContainEqual({ containerPort: 8080, name: 'server-health' });
    });

    test('readiness follows SPIRE\'s /ready closely, so agents reach only replicas that can serve them', () => {
      expect(serverContainerOf().readinessProbe).toEqual({ httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, failureThreshold: 3 });
    });

    test('timing of their own', () => {
      const server = { livenessProbe: { periodSeconds: 60, failureThreshold: 10, timeoutSeconds: 3 }, readinessProbe: { initialDelaySeconds: 5, failureThreshold: 2 } };
      const container = serverContainerOf(server);
      expect(container.livenessProbe).toEqual({ tcpSocket: { port: 8080 }, periodSeconds: 60, failureThreshold: 10, timeoutSeconds: 3 });
      expect(container.readinessProbe).toEqual(expect.objectContaining({ periodSeconds: 5, failureThreshold: 2, initialDelaySeconds: 5 }));
    });

    test('timing the API server refuses stops the synth on the server\'s path', () => {
      expect(errorsOf({ livenessProbe: { successThreshold: 2 }, readinessProbe: { periodSeconds: 0 } })).toEqual([
        expect.stringContaining('[spire/Server] livenessProbe.successThreshold "2": Kubernetes takes only 1'),
        expect.stringContaining('[spire/Server] readinessProbe.periodSeconds "0": probe timing is a whole number of at least 1'),
      ]);
    });
  });

  describe('pod metadata', () => {
    test('labels and annotations of the user\'s join the server\'s own', () => {
      const metadata = statefulSetOf({ podMetadata: { labels: { team: 'identity' }, annotations: { 'example.org/owner': 'identity' } } }).spec.template.metadata;
      expect(metadata.labels).toEqual({ 'app.kubernetes.io/name': 'spire-server', 'team': 'identity' });
      expect(metadata.annotations).toEqual(expect.objectContaining({ 'example.org/owner': 'identity', 'checksum/config': expect.any(String), 'prometheus.io/scrape': 'true' }));
    });

    test('the selector label and the annotations the server sets itself stay its own', () => {
      const errors = errorsOf({ podMetadata: { labels: { 'app.kubernetes.io/name': 'other' }, annotations: { 'checksum/config': 'x', 'prometheus.io/port': '1' } } });
      expect(errors).toEqual([
        expect.stringContaining('[spire/Server] podMetadata.labels "app.kubernetes.io/name": the component selects its pods by this label'),
        expect.stringContaining('[spire/Server] podMetadata.annotations "checksum/config": the component sets this annotation itself'),
        expect.stringContaining('[spire/Server] podMetadata.annotations "prometheus.io/port": the component sets this annotation itself'),
      ]);
    });
  });

  describe('termination grace period', () => {
    test('Kubernetes\' 30 seconds unless set', () => {
      expect(statefulSetOf().spec.template.spec.terminationGracePeriodSeconds).toBe(30);
      expect(statefulSetOf({ terminationGracePeriodSeconds: 90 }).spec.template.spec.terminationGracePeriodSeconds).toBe(90);
    });

    test('a negative one stops the synth', () => {
      expect(errorsOf({ terminationGracePeriodSeconds: -1 })).toEqual([
        expect.stringContaining('[spire/Server] terminationGracePeriodSeconds "-1": a termination grace period is a whole number of seconds'),
      ]);
    });
  });

  describe('the Service agents connect to', () => {
    test('a load balancer with annotations for agents outside the cluster; the headless Service keeps neither', () => {
      const manifests = manifestsOf({ serviceType: ServiceType.LOAD_BALANCER, serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' } });
      const service = manifests.find((o: any) => o.kind === 'Service' && o.metadata.name === 'spire-server');
      expect(service.spec.type).toBe('LoadBalancer');
      expect(service.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' });
      const headless = manifests.find((o: any) => o.kind === 'Service' && o.metadata.name === 'spire-server-headless');
      expect(headless.spec).toEqual(expect.objectContaining({ clusterIP: 'None' }));
      expect(headless.metadata.annotations).toBeUndefined();
    });

    test('ClusterIP without annotations by default', () => {
      const service = manifestsOf().find((o: any) => o.kind === 'Service' && o.metadata.name === 'spire-server');
      expect(service.spec.type).toBe('ClusterIP');
      expect(service.metadata.annotations).toBeUndefined();
    });

    test('an annotation key Kubernetes refuses stops the synth', () => {
      expect(errorsOf({ serviceAnnotations: { 'bad key': 'x' } })).toEqual([expect.stringContaining('[spire/Server] serviceAnnotations "bad key": an annotation key is')]);
    });
  });

  describe('storage access mode', () => {
    test('ReadWriteOnce by default, ReadWriteOncePod when asked', () => {
      const modes = (server: StackOverrides['server']) => statefulSetOf(server).spec.volumeClaimTemplates.map((claim: any) => claim.spec.accessModes);
      expect(modes({})).toEqual([['ReadWriteOnce']]);
      expect(modes({ storageAccessMode: StorageAccessMode.READ_WRITE_ONCE_POD })).toEqual([['ReadWriteOncePod']]);
      const external = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'db', key: 'dsn' });
      expect(modes({ datastore: external, replicas: 2, storageAccessMode: StorageAccessMode.READ_WRITE_ONCE_POD })).toEqual([['ReadWriteOncePod']]);
    });
  });
});
