import { Metrics } from '../../lib/config/metrics';
import { SCRAPE_ANNOTATIONS } from '../../lib/kube/metrics-endpoint';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const workloads = (overrides: StackOverrides = {}) => {
  const objects = buildStack(overrides).chart.toJson();
  return ['StatefulSet', 'DaemonSet'].map((kind) => objects.find((o: any) => o.kind === kind));
};
const containerPorts = (workload: any) => workload.spec.template.spec.containers.flatMap((c: any) => c.ports ?? []);

/** The scrape annotations name a container port named for metrics, and the path SPIRE serves. */
function annotationProblems(workload: any): string[] {
  const annotations = workload.spec.template.metadata.annotations;
  const port = containerPorts(workload).find((p: any) => String(p.containerPort) === annotations[SCRAPE_ANNOTATIONS.port]);
  return [
    ...(annotations[SCRAPE_ANNOTATIONS.scrape] === 'true' ? [] : ['not marked for scraping']),
    ...(port?.name === 'metrics' ? [] : [`annotated port ${annotations[SCRAPE_ANNOTATIONS.port]} is no port named metrics`]),
    ...(annotations[SCRAPE_ANNOTATIONS.path] === '/metrics' ? [] : ['path is not /metrics']),
  ];
}

/** Port names are IANA service names, and names and numbers are unique in the pod. */
function portProblems(workload: any): string[] {
  const ports = containerPorts(workload);
  const repeated = (values: unknown[]) => values.filter((v, i) => values.indexOf(v) !== i);
  return [
    ...ports.filter((p: any) => !/^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(p.name) || p.name.includes('--')).map((p: any) => `bad name ${p.name}`),
    ...repeated(ports.map((p: any) => p.name)).map((n) => `name ${n} repeated`),
    ...repeated(ports.map((p: any) => p.containerPort)).map((n) => `port ${n} repeated`),
  ];
}

describe('metrics endpoints of the SPIRE pods', () => {
  test('scrape annotations match the metrics port of the server and the agents', () => {
    for (const workload of workloads()) expect(annotationProblems(workload)).toEqual([]);
  });

  test('the annotation check sees an annotation naming another port', () => {
    const [server] = workloads();
    const broken = structuredClone(server);
    broken.spec.template.metadata.annotations[SCRAPE_ANNOTATIONS.port] = '8080';
    expect(annotationProblems(broken)).toEqual(['annotated port 8080 is no port named metrics']);
  });

  test('container port names and numbers are unique and valid within each pod', () => {
    for (const workload of workloads()) expect(portProblems(workload)).toEqual([]);
    const [server] = workloads();
    const broken = structuredClone(server);
    broken.spec.template.spec.containers[1].ports.find((p: any) => p.name === 'cm-metrics').name = 'metrics';
    expect(portProblems(broken)).toEqual(['name metrics repeated']);
  });

  test('a metrics port another container port of the pod binds stops the synth', () => {
    expect(synthErrors(buildStack({ server: { metrics: Metrics.prometheus({ port: 8082 }) } }).app))
      .toEqual([expect.stringContaining('[spire/Server] metrics.port "8082": the pod\'s container port cm-metrics binds it already')]);
    expect(synthErrors(buildStack({ agent: { metrics: Metrics.prometheus({ port: 8080 }) } }).app))
      .toEqual([expect.stringContaining('[spire/Agent] metrics.port "8080": the pod\'s container port agent-health binds it already')]);
  });

  test('without metrics the pods have no metrics port and no scrape annotations', () => {
    for (const workload of workloads({ server: { metrics: Metrics.disabled() } })) {
      expect(containerPorts(workload).map((p: any) => p.name)).not.toContain('metrics');
      expect(Object.keys(workload.spec.template.metadata.annotations)).toEqual(['checksum/config']);
    }
  });
});
