import { Chart } from 'cdk8s';
import { Metrics } from '../../lib/config/metrics';
import { SpirePodMonitor } from '../../lib/constructs/spire-pod-monitor';
import { SpireIstioMesh } from '../../lib/charts/spire-istio-mesh';
import { buildStack, synthErrors, testApp } from '../support/stack';

const podMonitors = (chart: Chart) => chart.toJson().filter((o: any) => o.kind === 'PodMonitor');

/** The wiring a PodMonitor must keep with the workload: its namespace, its pod labels, its metrics port names. */
function selectionProblems(monitor: any, workload: any): string[] {
  const template = workload.spec.template;
  const labels = template.metadata.labels;
  const portNames = template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.name));
  return [
    ...(monitor.spec.namespaceSelector.matchNames.includes(workload.metadata.namespace) ? [] : ['namespace not selected']),
    ...Object.entries(monitor.spec.selector.matchLabels).filter(([k, v]) => labels[k] !== v).map(([k]) => `pods lack label ${k}`),
    ...monitor.spec.podMetricsEndpoints.filter((e: any) => !portNames.includes(e.port)).map((e: any) => `no container port ${e.port}`),
  ];
}

describe('SpirePodMonitor', () => {
  const stackWithMonitors = () => {
    const stack = buildStack();
    new SpirePodMonitor(stack.chart, 'ServerMonitor', { target: stack.server.metricsTarget, labels: { release: 'prometheus' } });
    new SpirePodMonitor(stack.chart, 'AgentMonitor', { target: stack.agent.metricsTarget });
    return stack;
  };

  test('selects the pods by their labels and scrapes their metrics ports by name', () => {
    const { app, chart } = stackWithMonitors();
    expect(synthErrors(app)).toEqual([]);
    const objects = chart.toJson();
    const [serverMonitor, agentMonitor] = podMonitors(chart);
    const statefulSet = objects.find((o: any) => o.kind === 'StatefulSet');
    const daemonSet = objects.find((o: any) => o.kind === 'DaemonSet');
    expect(serverMonitor).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', metadata: { name: 'spire-server', namespace: 'spire-server', labels: { release: 'prometheus' } } });
    expect(serverMonitor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }, { port: 'cm-metrics', path: '/metrics' }]);
    expect(selectionProblems(serverMonitor, statefulSet)).toEqual([]);
    expect(selectionProblems(agentMonitor, daemonSet)).toEqual([]);
  });

  test('the selection check sees a broken label, namespace or port name', () => {
    const { chart } = stackWithMonitors();
    const [monitor] = podMonitors(chart);
    const statefulSet = chart.toJson().find((o: any) => o.kind === 'StatefulSet');
    const broken = structuredClone(monitor);
    broken.spec.selector.matchLabels['app.kubernetes.io/name'] = 'other';
    broken.spec.namespaceSelector.matchNames = ['elsewhere'];
    broken.spec.podMetricsEndpoints[0].port = 'prometheus';
    expect(selectionProblems(broken, statefulSet)).toEqual(['namespace not selected', 'pods lack label app.kubernetes.io/name', 'no container port prometheus']);
  });

  test('a target without metrics stops the synth', () => {
    const { app, chart, server } = buildStack({ server: { metrics: Metrics.disabled() } });
    new SpirePodMonitor(chart, 'Monitor', { target: server.metricsTarget });
    expect(synthErrors(app)).toEqual([expect.stringContaining('[spire/Monitor] target "spire-server": the target serves no metrics (Metrics.disabled())')]);
  });

  test('labels are checked', () => {
    const { app, chart, server } = buildStack();
    new SpirePodMonitor(chart, 'Monitor', { target: server.metricsTarget, labels: { 'bad key!': 'x' } });
    expect(synthErrors(app)).toEqual([expect.stringContaining('[spire/Monitor] labels "bad key!"')]);
  });
});

describe('SpireIstioMesh podMonitors', () => {
  const meshPodMonitors = (enabled?: boolean) => {
    const mesh = new SpireIstioMesh(testApp(), 'Mesh', { trustDomain: 'example.org', clusterName: 'test', podMonitors: enabled });
    return podMonitors(mesh.spire).map((monitor: any) => `${monitor.metadata.namespace}/${monitor.metadata.name}`);
  };

  test('off by default; when asked, one for the server and one for the agents in the SPIRE chart', () => {
    expect(meshPodMonitors()).toEqual([]);
    expect(meshPodMonitors(true)).toEqual(['spire-server/spire-server', 'spire-system/spire-agent']);
  });
});
