import * as path from 'path';
import { loadManifests } from '../../lib/check/manifests';
import { buildDefaultDeployment, BOOKSTORE_MANIFEST, DefaultDeploymentComponents } from '../../lib/charts/default-deployment';
import { KubeletPodsPermission } from '../../lib/config/agent-config';
import { UpstreamAuthority } from '../../lib/config/upstream-authority';
import { REPO } from '../support/doc-blocks';
import { testApp } from '../support/stack';
import { DEFAULT_SETTINGS } from '../support/synth';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { documentedGrants, roleGrants } = require('../../e2e/lib/permissions-table.js');

const documented: Map<string, { onlyWith?: string }> = documentedGrants();
const rowsWith = (option?: string) => [...documented].filter(([, row]) => row.onlyWith === option).map(([key]) => key).sort();
const unique = (keys: string[]) => [...new Set(keys)].sort();

// The options the page's "only with" column names, each as the default output's components would set it.
const OPTIONS: { [option: string]: DefaultDeploymentComponents } = {
  'KubeletPodsPermission.NODES_PODS': { agent: { kubeletPodsPermission: KubeletPodsPermission.NODES_PODS } },
  'UpstreamAuthority.certManager': { server: { upstreamAuthority: UpstreamAuthority.certManager({ issuerName: 'spire-ca', namespace: 'spire-upstream' }) } },
};

function grantsWith(components: DefaultDeploymentComponents): string[] {
  const app = testApp();
  buildDefaultDeployment(app, DEFAULT_SETTINGS, path.join(REPO, BOOKSTORE_MANIFEST), components);
  return unique(roleGrants(app.charts.flatMap((chart) => chart.toJson())));
}

describe('docs/permissions.md', () => {
  test('documents exactly the grants of the committed outputs', () => {
    const committed = ['dist', 'dist-federation/east', 'dist-federation/west'].map((dir) => path.join(REPO, dir));
    expect(unique(roleGrants(loadManifests(committed).map((entry) => entry.doc)))).toEqual(rowsWith(undefined));
  });

  test.each(Object.keys(OPTIONS))('documents exactly the grants an output with %s has', (option) => {
    const grants = grantsWith(OPTIONS[option]);
    expect(rowsWith(option).filter((key) => !grants.includes(key))).toEqual([]);
    expect(grants.filter((key) => !documented.has(key) || ![undefined, option].includes(documented.get(key)!.onlyWith))).toEqual([]);
  });

  test('names in "only with" just the options checked here', () => {
    expect(unique([...documented.values()].flatMap((row) => row.onlyWith ?? []))).toEqual(Object.keys(OPTIONS).sort());
  });
});

describe('the permissions table', () => {
  const header = '| role | verbs | resources | the call that needs it | only with | the end-to-end run |\n|---|---|---|---|---|---|\n';
  test('a row must say whether the run uses the grant, and why not', () => {
    expect(() => documentedGrants(`${header}| Role r | get | \`pods\` | x | | unused |\n`)).toThrow('"unused" is neither "used" nor "not in the run: why" (Role r)');
    expect(() => documentedGrants(`${header}| Role r | get | \`pods\` | x | | not in the run: |\n`)).toThrow(/neither/);
  });

  test('a grant in two rows is refused', () => {
    expect(() => documentedGrants(`${header}| Role r | get, list | \`pods\` | x | | used |\n| Role r | list | \`pods\` | y | | used |\n`))
      .toThrow('docs/permissions.md: Role/r list pods is in two rows');
  });
});
