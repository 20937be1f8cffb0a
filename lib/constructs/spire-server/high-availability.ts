import { addDisruptionBudget, spreadOverNodesAndZones } from '../../kube/objects';
import { checkReplicaCount } from '../../validation/rules';
import { ServerBinding, ServerContribution, ServerPart } from './part';

/**
 * The server's replicas: with more than one, voluntary disruptions (node
 * drains, upgrades) take down one at a time, and they spread over nodes and
 * zones. Whether the datastore, the key manager and the bundle endpoint allow
 * replicas is checked by those parts.
 */
export class HighAvailability implements ServerPart {
  constructor(private readonly replicas: number) {}

  public bind(server: ServerBinding): ServerContribution {
    return {
      afterStatefulSet: (statefulSet) => {
        if (this.replicas <= 1) return;
        spreadOverNodesAndZones(statefulSet, server.podLabels);
        addDisruptionBudget(server.scope, { name: statefulSet.name, namespace: server.namespace }, server.podLabels);
      },
      checks: () => [['replicas', checkReplicaCount(this.replicas)]],
    };
  }
}
