import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Contributions } from './part';

/**
 * The server's least-privilege RBAC: a ClusterRole with the rules of its
 * parts, and every Role a part grants, each bound to the server's service
 * account.
 */
export function grantServerPermissions(scope: Construct, serviceAccount: kplus.ServiceAccount, contributions: Contributions): void {
  const name = `${serviceAccount.metadata.namespace}-${serviceAccount.name}`;
  const clusterRole = new kplus.ClusterRole(scope, 'ClusterRole', { metadata: { name } });
  for (const { verbs, resources } of contributions.clusterRules) clusterRole.allow(verbs, ...resources);
  new kplus.ClusterRoleBinding(scope, 'ClusterRoleBinding', { metadata: { name }, role: clusterRole }).addSubjects(serviceAccount);
  for (const { id, metadata, rules } of contributions.roles) {
    const role = new kplus.Role(scope, `${id}Role`, { metadata });
    for (const { verbs, resources } of rules) role.allow(verbs, ...resources);
    new kplus.RoleBinding(scope, `${id}RoleBinding`, { metadata, role }).addSubjects(serviceAccount);
  }
}
