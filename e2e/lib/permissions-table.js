'use strict';
// The grants docs/permissions.md documents, and the grants of synthesized roles, as the same keys:
// `Kind/name verb group/resource[name]`.
const fs = require('fs');
const path = require('path');

const PAGE = path.join(__dirname, '..', '..', 'docs', 'permissions.md');

const resourceKey = (group, resource, name) => `${group ? `${group}/` : ''}${resource}${name ? `[${name}]` : ''}`;
const grantKey = (role, verb, resource) => `${role} ${verb} ${resource}`;

// Each rule of each Role and ClusterRole, one key per verb, resource and named object.
function roleGrants(objects) {
  return objects.filter((o) => ['Role', 'ClusterRole'].includes(o.kind)).flatMap((role) =>
    (role.rules || []).flatMap((rule) => (rule.apiGroups || ['']).flatMap((group) =>
      (rule.resources || []).flatMap((resource) => ((rule.resourceNames || []).length ? rule.resourceNames : [undefined])
        .flatMap((name) => (rule.verbs || []).map((verb) =>
          grantKey(`${role.kind}/${role.metadata.name}`, verb, resourceKey(group, resource, name))))))));
}

const cells = (line) => line.split('|').slice(1, -1).map((cell) => cell.trim());
const codeSpans = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

// The rows of the page's table: per grant key, the option it needs (or none) and what the
// end-to-end run says of it ("used", or "not in the run: why").
function documentedGrants(page = fs.readFileSync(PAGE, 'utf8')) {
  const rows = new Map();
  for (const line of page.split('\n').filter((l) => /^\| (Role|ClusterRole) /.test(l))) {
    const [role, verbs, resources, , onlyWith, run] = cells(line);
    if (!/^used$|^not in the run: ./.test(run)) throw new Error(`docs/permissions.md: "${run}" is neither "used" nor "not in the run: why" (${role})`);
    const [kind, name] = role.split(' ');
    for (const verb of verbs.split(',').map((v) => v.trim())) {
      for (const resource of codeSpans(resources)) {
        const key = grantKey(`${kind}/${name}`, verb, resource);
        if (rows.has(key)) throw new Error(`docs/permissions.md: ${key} is in two rows`);
        rows.set(key, { onlyWith: codeSpans(onlyWith)[0], used: run === 'used', why: run });
      }
    }
  }
  return rows;
}

module.exports = { documentedGrants, grantKey, resourceKey, roleGrants };
