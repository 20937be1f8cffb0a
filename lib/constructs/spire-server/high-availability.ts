import * as kplus from 'cdk8s-plus-27';
import { addDisruptionBudget, spreadOverNodesAndZones } from '../../kube/objects';
import { ContainerResourceSpec } from '../../kube/pod-settings';
import { checkReplicaCount, Problem } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { ServerAutoscalingOptions } from './options';
import { ServerBinding, ServerContribution, ServerPart } from './part';

/** What the high availability part reads of the server's props. */
export interface HighAvailabilitySettings {
  readonly replicas?: number;
  readonly autoscaling?: ServerAutoscalingOptions;
  readonly resources?: ContainerResourceSpec;
  readonly controllerManagerResources?: ContainerResourceSpec;
}

/**
 * The server's replicas, a fixed count or an autoscaler's range: with more
 * than one, voluntary disruptions (node drains, upgrades) take down one at a
 * time, and they spread over nodes and zones. Whether the datastore, the key
 * manager and the bundle endpoint allow that many is checked by those parts,
 * on the most replicas the server may run.
 */
export class HighAvailability implements ServerPart {
  /** The replicas of the StatefulSet; undefined when an autoscaler sets them. */
  public readonly replicas?: number;
  /** The most replicas the server may run. */
  public readonly mostReplicas: number;
  /** The prop that sets the most replicas. */
  public readonly mostReplicasProp: string;
  private readonly autoscaling?: ServerAutoscalingOptions;

  constructor(private readonly settings: HighAvailabilitySettings) {
    this.autoscaling = settings.autoscaling;
    this.replicas = this.autoscaling === undefined ? settings.replicas ?? 1 : undefined;
    this.mostReplicas = this.autoscaling?.maxReplicas ?? this.replicas ?? 1;
    this.mostReplicasProp = this.autoscaling === undefined ? 'replicas' : 'autoscaling.maxReplicas';
  }

  public bind(server: ServerBinding): ServerContribution {
    return {
      afterStatefulSet: (statefulSet) => {
        if (this.autoscaling !== undefined && this.autoscalingChecks().every(([, problem]) => problem === undefined)) {
          createAutoscaler(server, statefulSet, this.autoscaling);
        }
        if (this.mostReplicas <= 1) return;
        spreadOverNodesAndZones(statefulSet, server.podLabels);
        addDisruptionBudget(server.scope, { name: statefulSet.name, namespace: server.namespace }, server.podLabels);
      },
      checks: () => (this.autoscaling === undefined ? [['replicas', checkReplicaCount(this.replicas ?? 1)]] : this.autoscalingChecks()),
    };
  }

  private autoscalingChecks(): Check[] {
    const autoscaling = this.autoscaling!;
    const minReplicas = autoscaling.minReplicas ?? 2;
    return [
      ['replicas', this.settings.replicas === undefined ? undefined : {
        value: String(this.settings.replicas),
        rule: 'with autoscaling the autoscaler sets the replica count; a fixed one would be reset on every apply',
        fix: 'leave replicas out and set autoscaling.minReplicas',
      }],
      ['autoscaling.minReplicas', checkReplicaCount(minReplicas)],
      ['autoscaling.maxReplicas', Number.isInteger(autoscaling.maxReplicas) && autoscaling.maxReplicas > minReplicas ? undefined : {
        value: String(autoscaling.maxReplicas),
        rule: `the autoscaler scales between minReplicas (${minReplicas}) and maxReplicas, so maxReplicas is a whole number above it`,
        fix: `set maxReplicas above ${minReplicas}, or leave autoscaling out and set replicas`,
      }],
      ['autoscaling.targetCpuUtilizationPercent', checkUtilization(autoscaling.targetCpuUtilizationPercent ?? 80)],
      ['resources', checkCpuRequest(this.settings.resources, 'resources', 'spire-server')],
      ['controllerManagerResources', autoscaling.serverContainerOnly ? undefined
        : checkCpuRequest(this.settings.controllerManagerResources, 'controllerManagerResources', 'spire-controller-manager')],
    ];
  }
}

function createAutoscaler(server: ServerBinding, statefulSet: kplus.StatefulSet, autoscaling: ServerAutoscalingOptions): void {
  const target = kplus.MetricTarget.averageUtilization(autoscaling.targetCpuUtilizationPercent ?? 80);
  const serverContainer = statefulSet.containers.find((container) => container.name === 'spire-server')!;
  new kplus.HorizontalPodAutoscaler(server.scope, 'Autoscaler', {
    metadata: { name: statefulSet.name, namespace: server.namespace },
    target: statefulSet,
    minReplicas: autoscaling.minReplicas ?? 2,
    maxReplicas: autoscaling.maxReplicas,
    metrics: [autoscaling.serverContainerOnly ? kplus.Metric.containerCpu({ container: serverContainer, target }) : kplus.Metric.resourceCpu(target)],
  });
}

function checkUtilization(percent: number): Problem | undefined {
  if (Number.isInteger(percent) && percent >= 1) return undefined;
  return { value: String(percent), rule: 'the target CPU utilization is a whole percentage of the CPU request, 1 or more', fix: 'use e.g. 80' };
}

/** The autoscaler measures CPU use against the request, so a container it measures without one stops it from scaling. */
function checkCpuRequest(resources: ContainerResourceSpec | undefined, prop: string, container: string): Problem | undefined {
  if (resources === undefined || resources.requests?.cpu !== undefined) return undefined;
  return {
    value: JSON.stringify(resources),
    rule: `the autoscaler measures CPU use in percent of the request, and the ${container} container would have no CPU request, so it would not scale`,
    fix: `add requests.cpu to ${prop}, e.g. "100m"`,
  };
}
