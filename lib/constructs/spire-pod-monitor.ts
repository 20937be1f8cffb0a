import { Construct } from 'constructs';
import { METRICS_PATH, MetricsTarget } from '../config/metrics';
import { KubePodMonitor } from '../kube/pod-monitor';
import { checkDnsLabel, checkLabelKey, checkLabelValue } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { requireProps } from '../validation/required';

export interface SpirePodMonitorProps {
  /** The pods to scrape: `metricsTarget` of a SpireServer or SpireAgentDaemonSet. */
  readonly target: MetricsTarget;
  /** Name of the PodMonitor. @default the target's name */
  readonly name?: string;
  /**
   * Namespace of the PodMonitor; Prometheus must watch it for PodMonitors
   * (`podMonitorNamespaceSelector`). @default the target's namespace
   */
  readonly namespace?: string;
  /**
   * Labels of the PodMonitor, for a Prometheus whose `podMonitorSelector`
   * picks them by label (kube-prometheus-stack: `release: <its release>`). @default none
   */
  readonly labels?: { [key: string]: string };
}

/**
 * A prometheus-operator PodMonitor that scrapes every metrics port of a SPIRE
 * component's pods, found by the component's own labels and port names. Its
 * CRD comes with prometheus-operator, which must be installed before it is applied.
 */
export class SpirePodMonitor extends Construct {
  public readonly name: string;
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: SpirePodMonitorProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['target', 'object', 'the metricsTarget of a SpireServer or SpireAgentDaemonSet'],
    ]);
    const { target } = props;
    this.name = props.name ?? target.name;
    this.namespace = props.namespace ?? target.namespace;
    new KubePodMonitor(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace, labels: props.labels },
      spec: {
        namespaceSelector: { matchNames: [target.namespace] },
        selector: { matchLabels: target.podLabels },
        podMetricsEndpoints: target.portNames.map((port) => ({ port, path: METRICS_PATH })),
      },
    });
    validateAtSynth(this, () => this.checks(props));
  }

  private checks(props: SpirePodMonitorProps): Check[] {
    return [
      ['name', checkDnsLabel(this.name)],
      ['namespace', checkDnsLabel(this.namespace)],
      ...Object.entries(props.labels ?? {}).flatMap(([key, value]): Check[] => [['labels', checkLabelKey(key)], ['labels', checkLabelValue(value)]]),
      ['target', props.target.portNames.length > 0 ? undefined : {
        value: props.target.name,
        rule: 'the target serves no metrics (Metrics.disabled()), so the PodMonitor would scrape nothing',
        fix: 'turn metrics on with `metrics: Metrics.prometheus()`, or drop the PodMonitor',
      }],
    ];
  }
}
