import { Metrics } from '../../lib/config/metrics';
import { DatabaseType, ServerDatastore } from '../../lib/config/server-config';
import { ApiObject } from 'cdk8s';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);

describe('SpireServer validation', () => {
  test('the default stack synthesizes', () => {
    expect(errorsWith({})).toEqual([]);
  });

  test.each([
    ['Example.org', 'lowercase'],
    ['spiffe://example.org', 'lowercase'],
    ['example.org:8443', 'lowercase'],
    ['example.org/path', 'lowercase'],
    ['', '1 to 255 characters'],
    ['a'.repeat(256), '1 to 255 characters'],
  ])('trust domain %j is rejected with construct, value, rule and fix', (trustDomain, rule) => {
    const errors = errorsWith({ trustDomain });
    expect(errors).toEqual([expect.stringContaining(`[spire/Server] trustDomain ${JSON.stringify(trustDomain)}`)]);
    expect(errors[0]).toContain(rule);
    expect(errors[0]).toContain('Fix: use a bare lowercase name');
  });

  test.each(['example.org', 'my_td-1.local', 'a'.repeat(255)])('trust domain %j is accepted', (trustDomain) => {
    expect(errorsWith({ trustDomain })).toEqual([]);
  });

  test.each([
    [{ port: 70000 }, 'port "70000"', { port: 8443 }],
    [{ namespace: 'Spire_Server' }, 'namespace "Spire_Server"', { namespace: 'spire' }],
    [{ image: 'ghcr.io/spiffe/spire-server' }, 'image "ghcr.io/spiffe/spire-server"', { image: 'ghcr.io/spiffe/spire-server:1.15.3' }],
    [{ image: 'ghcr.io/spiffe/spire-server:latest' }, 'the "latest" tag is not a version', { image: `ghcr.io/spiffe/spire-server@sha256:${'a'.repeat(64)}` }],
  ])('%j is rejected (%s); its neighbour %j is accepted', (bad, message, good) => {
    expect(errorsWith(bad)).toEqual([expect.stringContaining(message)]);
    expect(errorsWith(good)).toEqual([]);
  });


});

describe('SpireServer pod', () => {
  test('both containers write to /tmp only through emptyDir volumes, each path mounted once', () => {
    const pod = ApiObject.of(buildStack().server.statefulSet).toJson().spec.template.spec;
    const emptyDirs = pod.volumes.filter((volume: any) => volume.emptyDir).map((volume: any) => volume.name);
    for (const container of pod.containers) {
      const paths = container.volumeMounts.map((mount: any) => mount.mountPath);
      expect([container.name, new Set(paths).size]).toEqual([container.name, paths.length]);
      const tmp = container.volumeMounts.find((mount: any) => mount.mountPath === '/tmp');
      expect([container.name, emptyDirs.includes(tmp?.name), tmp?.readOnly]).toEqual([container.name, true, undefined]);
    }
    const tmpVolumes = pod.containers.map((container: any) => container.volumeMounts.find((mount: any) => mount.mountPath === '/tmp').name);
    expect(new Set(tmpVolumes).size).toBe(pod.containers.length);
  });
});

describe('SpireServer metrics', () => {
  const configsWith = (metrics?: Metrics) => {
    const { server, agent } = buildStack({ server: { metrics } });
    return { server: server.serverConfig as any, manager: server.controllerManagerConfig as any, agent: agent.agentConfig as any };
  };

  test('Prometheus on port 9988 of every address by default, for server, agents and the controller manager', () => {
    const { server, manager, agent } = configsWith();
    expect(server.telemetry).toEqual({ Prometheus: { host: '0.0.0.0', port: 9988 } });
    expect(agent.telemetry).toEqual({ Prometheus: { host: '0.0.0.0', port: 9988 } });
    expect(manager.metrics).toEqual({ bindAddress: '0.0.0.0:8082' });
  });

  test('port and host are typed settings the controller manager follows', () => {
    const { server, manager } = configsWith(Metrics.prometheus({ port: 9090, host: '127.0.0.1' }));
    expect(server.telemetry).toEqual({ Prometheus: { host: '127.0.0.1', port: 9090 } });
    expect(manager.metrics).toEqual({ bindAddress: '127.0.0.1:8082' });
  });

  test('disabled: no telemetry block, the controller manager serves none', () => {
    const { server, manager, agent } = configsWith(Metrics.disabled());
    expect(server).not.toHaveProperty('telemetry');
    expect(agent).not.toHaveProperty('telemetry');
    expect(manager.metrics).toEqual({ bindAddress: '0' });
  });

  test('DogStatsd: a sink at host:port for server and agents, no container port or scrape annotations, no controller manager metrics', () => {
    const { server, manager, agent } = configsWith(Metrics.dogStatsd({ address: 'datadog.datadog.svc' }));
    expect(server.telemetry).toEqual({ DogStatsd: [{ address: 'datadog.datadog.svc:8125' }] });
    expect(agent.telemetry).toEqual({ DogStatsd: [{ address: 'datadog.datadog.svc:8125' }] });
    expect(manager.metrics).toEqual({ bindAddress: '0' });
    const stack = buildStack({ server: { metrics: Metrics.dogStatsd({ address: '10.0.0.10', port: 9125 }) } });
    const pods = stack.chart.toJson().filter((o: any) => ['StatefulSet', 'DaemonSet'].includes(o.kind)).map((o: any) => o.spec.template);
    for (const pod of pods) {
      expect(pod.metadata.annotations ?? {}).not.toHaveProperty(['prometheus.io/scrape']);
      expect(pod.spec.containers.flatMap((c: any) => c.ports ?? []).map((port: any) => port.name)).not.toContain('metrics');
    }
    expect(stack.server.metricsTarget.portNames).toEqual([]);
    expect((stack.agent.agentConfig as any).telemetry.DogStatsd).toEqual([{ address: '10.0.0.10:9125' }]);
  });

  test('Prometheus with DogStatsd besides: both sinks, the Prometheus endpoint as before', () => {
    const { server, manager } = configsWith(Metrics.prometheus().withDogStatsd({ address: 'datadog.datadog.svc' }));
    expect(server.telemetry).toEqual({ Prometheus: { host: '0.0.0.0', port: 9988 }, DogStatsd: [{ address: 'datadog.datadog.svc:8125' }] });
    expect(manager.metrics).toEqual({ bindAddress: '0.0.0.0:8082' });
  });

  test('an agent may send to a DogStatsd server of its own', () => {
    const { agent, server } = buildStack({ agent: { metrics: Metrics.dogStatsd({ address: 'localhost' }) } });
    expect((agent.agentConfig as any).telemetry).toEqual({ DogStatsd: [{ address: 'localhost:8125' }] });
    expect((server.serverConfig as any).telemetry).toEqual({ Prometheus: { host: '0.0.0.0', port: 9988 } });
    expect(synthErrors(buildStack({ agent: { metrics: Metrics.dogStatsd({ address: 'datadog:8125' }) } }).app))
      .toEqual([expect.stringContaining('[spire/Agent] metrics.dogStatsd.address "datadog:8125"')]);
  });

  test('a DogStatsd server needs an address', () => {
    expect(() => Metrics.dogStatsd({} as any)).toThrow('Metrics.dogStatsd: the required prop "address" is missing. Fix: pass the DogStatsd server\'s host, e.g. "datadog.datadog.svc".');
  });

  test.each([
    [Metrics.prometheus({ port: 0 }), 'metrics.port "0": a port is a whole number'],
    [Metrics.dogStatsd({ address: 'datadog.datadog.svc:8125' }), 'metrics.dogStatsd.address "datadog.datadog.svc:8125": the DogStatsd address is the IPv4 address or host name of the server that receives the metrics, without a port. Fix: name the DogStatsd server'],
    [Metrics.dogStatsd({ address: '0.0.0.0' }), 'metrics.dogStatsd.address "0.0.0.0"'],
    [Metrics.prometheus().withDogStatsd({ address: 'datadog', port: 70000 }), 'metrics.dogStatsd.port "70000": a port is a whole number'],
    [Metrics.prometheus({ port: 8081 }), 'metrics.port "8081": the pod\'s container port grpc binds it already'],
    [Metrics.prometheus({ host: '0.0.0.0:9988' }), 'metrics.host "0.0.0.0:9988": the metrics host is an IPv4 address or a host name, without a port. Fix: use "0.0.0.0"'],
  ])('%j is rejected naming the construct (%s)', (metrics, message) => {
    const errors = errorsWith({ metrics });
    expect(errors).toContainEqual(expect.stringContaining(`[spire/Server] ${message}`));
  });
});

describe('SpireServer workload', () => {
  const postgres = ServerDatastore.external(DatabaseType.POSTGRES, { name: 'spire-db', key: 'dsn' });
  const ha = (server: StackOverrides['server'] = {}) => buildStack({ server: { replicas: 2, datastore: postgres, ...server } });
  const objects = (stack: ReturnType<typeof buildStack>) => stack.chart.toJson();
  const statefulSetOf = (stack: ReturnType<typeof buildStack>) => objects(stack).find((o: any) => o.kind === 'StatefulSet');

  test('the StatefulSet is governed by a headless Service selecting its pods; agents keep the ClusterIP Service', () => {
    const stack = ha();
    const services = objects(stack).filter((o: any) => o.kind === 'Service');
    const governing = services.find((s: any) => s.metadata.name === statefulSetOf(stack).spec.serviceName);
    expect(governing.metadata.name).toBe(stack.server.headlessServiceName);
    expect(governing.spec.clusterIP).toBe('None');
    expect(governing.spec.selector).toEqual(stack.server.podLabels);
    const agentFacing = services.find((s: any) => s.metadata.name === stack.server.serviceName);
    expect(agentFacing.spec.clusterIP).toBeUndefined();
    expect(stack.server.address.startsWith(`${agentFacing.metadata.name}.`)).toBe(true);
  });
});
