'use strict';
// What the output's service accounts did with what their roles grant: every grant of the
// output's Roles and ClusterRoles, per service account bound to it, against the requests the API
// server's audit log shows that service account made (and whether the authorizer allowed them).
const fs = require('fs');
const { loadDir, fail } = require('../../conformance/lib/manifests');
const { documentedGrants, grantKey, resourceKey } = require('./permissions-table');

function bindingsBySubject(objects) {
  const roles = new Map(objects.filter((o) => ['Role', 'ClusterRole'].includes(o.kind))
    .map((o) => [`${o.kind}/${o.metadata.namespace || ''}/${o.metadata.name}`, o]));
  const grants = [];
  for (const binding of objects.filter((o) => ['RoleBinding', 'ClusterRoleBinding'].includes(o.kind))) {
    const namespace = binding.kind === 'RoleBinding' ? binding.metadata.namespace : undefined;
    const { kind, name } = binding.roleRef;
    const role = roles.get(`${kind}/${kind === 'Role' ? namespace : ''}/${name}`);
    if (!role) continue;
    for (const subject of (binding.subjects || []).filter((s) => s.kind === 'ServiceAccount')) {
      const account = `${subject.namespace || namespace}/${subject.name}`;
      for (const rule of role.rules || []) {
        for (const group of rule.apiGroups || ['']) {
          for (const resource of rule.resources || []) {
            for (const verb of rule.verbs || []) {
              grants.push({ account, role: `${role.kind}/${role.metadata.name}`, namespace, group, resource, verb, names: rule.resourceNames && rule.resourceNames.length ? rule.resourceNames : undefined });
            }
          }
        }
      }
    }
  }
  return grants;
}

const account = (username) => username.split(':').slice(2).join('/');

// A request of a service account to the API server.
function apiRequest(e) {
  const ref = e.objectRef;
  return {
    account: account(e.user.username),
    verb: e.verb,
    group: ref.apiGroup || '',
    resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource,
    namespace: ref.namespace,
    name: ref.name,
    allowed: (e.annotations || {})['authorization.k8s.io/decision'] !== 'forbid',
  };
}

// A request of a service account to a kubelet, as the kubelet asked the API server about it.
function kubeletRequest(e) {
  const { user, resourceAttributes: attrs } = e.requestObject.spec;
  return {
    account: account(user),
    verb: attrs.verb,
    group: attrs.group || '',
    resource: attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource,
    namespace: attrs.namespace,
    name: attrs.name,
    allowed: Boolean(e.responseObject && e.responseObject.status && e.responseObject.status.allowed),
    viaKubelet: true,
  };
}

const isServiceAccount = (username) => (username || '').startsWith('system:serviceaccount:');
const isKubeletReview = (e) => e.objectRef && e.objectRef.resource === 'subjectaccessreviews' && e.requestObject &&
  e.requestObject.spec && isServiceAccount(e.requestObject.spec.user) && e.requestObject.spec.resourceAttributes;

function auditEvents(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    .flatMap((e) => {
      if (isKubeletReview(e)) return [kubeletRequest(e)];
      if (e.user && isServiceAccount(e.user.username) && e.objectRef && e.objectRef.resource !== 'subjectaccessreviews') return [apiRequest(e)];
      return [];
    });
}

// The kubelet asks for the fine-grained subresource (nodes/pods) first and, refused, for
// nodes/proxy: a refusal followed by that allowed question is not a missing grant.
const fellBack = (e, events) => e.viaKubelet && e.resource !== 'nodes/proxy' &&
  events.some((o) => o.viaKubelet && o.allowed && o.account === e.account && o.resource === 'nodes/proxy' && o.name === e.name);

const matches = (pattern, value) => pattern === '*' || pattern === value;

function covers(grant, event) {
  return grant.account === event.account && matches(grant.verb, event.verb) && matches(grant.group, event.group) &&
    matches(grant.resource, event.resource) && (!grant.namespace || grant.namespace === event.namespace) &&
    (!grant.names || grant.names.includes(event.name));
}

const describe = (g) => `${g.verb} ${g.group ? `${g.group}/` : ''}${g.resource}${g.names ? ` [${g.names.join(',')}]` : ''}${g.namespace ? ` in ${g.namespace}` : ''} (${g.role})`;

// What docs/permissions.md says of a grant: every named object of it must have a row.
function documentation(grant, documented) {
  const keys = (grant.names || [undefined]).map((name) => grantKey(grant.role, grant.verb, resourceKey(grant.group, grant.resource, name)));
  const rows = keys.map((key) => documented.get(key));
  return rows.every(Boolean) ? rows[0] : undefined;
}

// rbac-use DIR AUDIT_LOG: per service account, the grants it used and those it did not. Fails
// naming every request of theirs the authorizer refused (a grant the output lacks), every grant
// docs/permissions.md does not document, every unused grant it does not say the run leaves unused,
// and every grant it says the run uses that went unused.
function rbacUse(dir, auditLog) {
  const grants = bindingsBySubject(loadDir(dir).map((e) => e.obj));
  if (grants.length === 0) fail(`no Role or ClusterRole bound to a service account in ${dir}`);
  const documented = documentedGrants();
  const events = auditEvents(auditLog);
  const accounts = [...new Set(grants.map((g) => g.account))].sort();
  const problems = [];
  for (const account of accounts) {
    const mine = grants.filter((g) => g.account === account);
    const used = mine.filter((g) => events.some((e) => e.allowed && covers(g, e)));
    console.log(`${account}: ${used.length} of ${mine.length} grants used`);
    for (const grant of mine) {
      const row = documentation(grant, documented);
      const isUsed = used.includes(grant);
      if (!row) problems.push(`${account}: ${describe(grant)} is not in docs/permissions.md`);
      else if (!isUsed && row.used) problems.push(`${account}: ${describe(grant)} went unused, but docs/permissions.md says the run uses it`);
      if (!isUsed) console.log(`  unused: ${describe(grant)}${row && !row.used ? `: ${row.why}` : ''}`);
    }
    const refused = [...new Set(events.filter((e) => e.account === account && !e.allowed && !fellBack(e, events))
      .map((e) => `${e.verb} ${e.group ? `${e.group}/` : ''}${e.resource}${e.name ? ` ${e.name}` : ''}${e.viaKubelet ? ' (asked by the kubelet)' : ''}`))];
    const kubelet = [...new Set(events.filter((e) => e.account === account && e.viaKubelet)
      .map((e) => `${e.verb} ${e.resource} ${e.allowed ? 'allowed' : 'refused'}`))];
    kubelet.forEach((k) => console.log(`  asked by the kubelet: ${k}`));
    problems.push(...refused.map((r) => `${account}: the API server refused ${r}`));
  }
  if (problems.length > 0) fail(`the output's grants and what its service accounts asked for differ:\n  ${problems.join('\n  ')}`);
}

module.exports = { rbacUse };
