import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { runCheckCommand } from '../../lib/check/command';
import { editedCopy } from '../support/files';
import { synthDeployment } from '../support/synth';

const { dir } = synthDeployment();
const root = path.join(__dirname, '..', '..');

/** The command as the bin runs it, in this process. */
function runCheck(...paths: string[]) {
  const result = runCheckCommand(['check', ...paths]);
  return { status: result.status, lines: result.stdout, stderr: result.stderr.join('\n') };
}

/** The real bin, as a user's shell runs it. */
function runBin(...paths: string[]) {
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'bin', 'check.ts'), 'check', ...paths], { encoding: 'utf8' });
  return { status: result.status, lines: result.stdout.trim().split('\n'), stderr: result.stderr };
}

/** A copy of the synthesized manifests (not the Helm values) with one file's objects edited. */
function brokenCopy(file: string, edit: (docs: any[]) => void): string {
  return editedCopy(dir, file, edit, (relative) => relative.endsWith('.k8s.yaml'));
}

const ISTIO_FILE = '0003-istio-profile.k8s.yaml';
const dropIstioOperator = (docs: any[]) => { docs.splice(0, docs.length); };
const helmValues = () => YAML.parse(fs.readFileSync(path.join(dir, 'helm', 'istiod-values.yaml'), 'utf8'));
const writeValues = (file: string, values: any) => { fs.writeFileSync(file, YAML.stringify(values)); return file; };

/** The SPIRE ConfigMap with its configs replaced by the HCL fixtures, edited. */
function withHclConfigs(edit: (text: string) => string = (text) => text): string {
  return brokenCopy('0001-spire.k8s.yaml', (docs) => {
    for (const key of ['server.conf', 'agent.conf']) {
      docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.[key]).data[key] = edit(fs.readFileSync(path.join(__dirname, 'fixtures', key), 'utf8'));
    }
  });
}

const CHECKED_DIST = [
  'checked: 57 object(s) in 6 file(s); 9 pod template(s), 7 SPIRE-enabled',
  'checked: SPIRE configs: 1 server (JSON), 1 agent (JSON), 1 controller manager, 0 unreadable',
  'checked: Istio install sources: 1 IstioOperator, 1 istiod Helm values; 2 ClusterSPIFFEID(s)',
];

test('the project\'s own output is clean, and says what was checked', () => {
  expect(runCheck(dir)).toEqual({ status: 0, lines: [...CHECKED_DIST, '0 error(s), 0 warning(s)'], stderr: '' });
});

test('the committed dist/ is clean too, through the bin', () => {
  expect(runBin(path.join(root, 'dist'))).toEqual({ status: 0, lines: [...CHECKED_DIST, '0 error(s), 0 warning(s)'], stderr: '' });
});

test('a workload no ClusterSPIFFEID selects is reported with file, object and fix', () => {
  const broken = brokenCopy('0004-workloads.k8s.yaml', (docs) => {
    delete docs.find((doc) => doc.metadata?.name === 'httpbin' && doc.kind === 'Deployment').spec.template.metadata.labels['spiffe.io/spire-managed-identity'];
  });
  const { status, lines } = runCheck(broken);
  expect(status).toBe(1);
  expect(lines).toEqual([
    `${path.join(broken, '0004-workloads.k8s.yaml')}: error: Deployment demo/httpbin: no ClusterSPIFFEID selects this pod, so it never gets an identity. Fix: add the labels a ClusterSPIFFEID podSelector matches, e.g. spiffe.io/spire-managed-identity: "true".`,
    'checked: 57 object(s) in 5 file(s); 9 pod template(s), 7 SPIRE-enabled',
    CHECKED_DIST[1],
    'checked: Istio install sources: 1 IstioOperator, 0 istiod Helm values; 2 ClusterSPIFFEID(s)',
    '1 error(s), 0 warning(s)',
  ]);
});

test.each([
  ['a namespace without injection', '0004-workloads.k8s.yaml', (docs: any[]) => { docs.find((doc) => doc.kind === 'Namespace' && doc.metadata.name === 'demo').metadata.labels = {}; }, 'Deployment demo/sleep: namespace demo does not have Istio injection enabled'],
  ['a CSI driver serving another directory', '0001-spire.k8s.yaml', (docs: any[]) => {
    const pod = docs.find((doc) => doc.kind === 'DaemonSet').spec.template.spec;
    pod.volumes.find((volume: any) => volume.name === 'spire-agent-socket-dir').hostPath.path = '/run/other';
    pod.volumes.push({ name: 'agent-own', hostPath: { path: '/run/spire/agent-sockets' } });
    pod.containers[0].volumeMounts.find((mount: any) => mount.name === 'spire-agent-socket-dir').name = 'agent-own';
  }, 'DaemonSet spire-system/spire-agent: the CSI driver serves /run/other but the agent\'s socket is in node directory /run/spire/agent-sockets'],
  ['a trust domain mismatch in Istio', '0003-istio-profile.k8s.yaml', (docs: any[]) => { docs[0].spec.meshConfig.trustDomain = 'cluster.local'; }, 'IstioOperator istio-system/istio-spire: trust domain "cluster.local" differs from "example.org"'],
  ['a template for classic sidecars under native ones', '0003-istio-profile.k8s.yaml', (docs: any[]) => {
    const templates = docs[0].spec.values.sidecarInjectorWebhook.templates;
    templates.spire = templates.spire.replace('initContainers', 'containers');
  }, 'injection template "spire" patches istio-proxy in containers for native sidecar pods'],
  ['a CSI driver name typo', '0003-istio-profile.k8s.yaml', (docs: any[]) => {
    const templates = docs[0].spec.values.sidecarInjectorWebhook.templates;
    templates['spire-gateway'] = templates['spire-gateway'].replace('csi.spiffe.io', 'csi.spife.io');
  }, 'injection template "spire-gateway": volume workload-socket uses CSI driver "csi.spife.io"'],
  ...([
    ['an agent serving certificates under another SDS name', { default_svid_name: 'svid' }, 'the agent serves workload certificates under SDS name "svid", but istio-proxy asks for "default"'],
    ['an agent serving the roots under neither name Istio asks for', { default_bundle_name: 'own' }, 'the agent serves the roots under SDS names "own" and "ALL", but istio-proxy asks for "ROOTCA"'],
    ['an agent with two equal bundle names', { default_all_bundles_name: 'ROOTCA' }, 'default_bundle_name and default_all_bundles_name are both "ROOTCA", so SPIRE ignores the all-bundles name'],
  ] as const).map(([what, sds, message]): [string, string, (docs: any[]) => void, string] => [what, '0001-spire.k8s.yaml', (docs: any[]) => {
    const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['agent.conf']);
    const conf = JSON.parse(configMap.data['agent.conf']);
    conf.agent.sds = sds;
    configMap.data['agent.conf'] = JSON.stringify(conf);
  }, `ConfigMap spire-system/spire-agent: ${message}`]),
])('%s is reported', (_what, file, edit, message) => {
  const { status, lines } = runCheck(brokenCopy(file, edit));
  expect(status).toBe(1);
  expect(lines).toContainEqual(expect.stringContaining(message));
});

describe('SPIRE configs in HCL', () => {
  test('are read and checked like JSON ones', () => {
    const { status, lines } = runCheck(withHclConfigs());
    expect(status).toBe(0);
    expect(lines).toContain('checked: SPIRE configs: 1 server (HCL), 1 agent (HCL), 1 controller manager, 0 unreadable');
  });

  test('a wiring mistake in HCL is found', () => {
    const { status, lines } = runCheck(withHclConfigs((text) => text.replace('socket_path = "/run/secrets/workload-spiffe-uds/socket"', 'socket_path = "/run/secrets/workload-spiffe-uds/agent.sock"')));
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringContaining('istio-proxy looks for /run/secrets/workload-spiffe-uds/socket but the agent serves /run/secrets/workload-spiffe-uds/agent.sock'));
  });

  test('a config that is neither JSON nor HCL is an error, and its rules are not checked', () => {
    const { status, lines } = runCheck(withHclConfigs((text) => text.replace(/trust_domain = "example.org"\n}/, 'trust_domain =\n')));
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringMatching(/error: ConfigMap spire-system\/spire-agent: agent.conf is neither JSON nor HCL \(At \d+:\d+: .*\), so SPIRE cannot start with it/));
    expect(lines).toContain('not checked: the agent reaches the kubelet: the input has no SPIRE agent config');
  });
});

describe('injection templates named by pods', () => {
  test('a template the IstioOperator does not define is an error', () => {
    const { status, lines } = runCheck(brokenCopy(ISTIO_FILE, (docs) => { delete docs[0].spec.values.sidecarInjectorWebhook.templates.spire; }));
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringContaining('error: Deployment demo/httpbin: injection templates spire are not defined by the IstioOperator istio-system/istio-spire'));
  });

  test('without any Istio source they are said to be unchecked, with what to pass, and the run is incomplete', () => {
    const { status, lines } = runCheck(brokenCopy(ISTIO_FILE, dropIstioOperator));
    expect(status).toBe(3);
    expect(lines).toContainEqual(expect.stringContaining('warning: Deployment demo/httpbin: injection templates spire are not defined in the input, so whether Istio has them was not checked. Fix: pass the IstioOperator or the istiod Helm values file'));
    expect(lines).toContain('not checked: templates named by pods are defined: the input has no Istio install source (IstioOperator or istiod Helm values)');
    expect(lines.at(-1)).toMatch(/^incomplete: \d+ rule\(s\) not checked for lack of input; the rules that ran found no error and 7 warning\(s\)$/);
    expect(lines.some((line) => line.startsWith('0 error(s)'))).toBe(false);
  });
});

describe('istiod Helm values as the Istio install source', () => {
  test('a file named *istiod-values.yaml stands in for the IstioOperator', () => {
    const copy = brokenCopy(ISTIO_FILE, dropIstioOperator);
    writeValues(path.join(copy, 'istiod-values.yaml'), helmValues());
    const { status, lines } = runCheck(copy);
    expect(status).toBe(0);
    expect(lines).toContain('checked: 56 object(s) in 5 file(s); 9 pod template(s), 7 SPIRE-enabled');
    expect(lines).toContain('checked: Istio install sources: 0 IstioOperator, 1 istiod Helm values; 2 ClusterSPIFFEID(s)');
  });

  test('a values file of another name is read with --istiod-values, and checked', () => {
    const copy = brokenCopy(ISTIO_FILE, dropIstioOperator);
    const values = writeValues(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'check-')), 'mesh.yaml'), { ...helmValues(), meshConfig: { trustDomain: 'cluster.local' } });
    const { status, lines } = runCheck('--istiod-values', values, copy);
    expect(status).toBe(1);
    expect(lines).toContainEqual(`${values}: error: istiod Helm values: trust domain "cluster.local" differs from "example.org" in ConfigMap spire-server/spire-server. Fix: set the same trust domain everywhere (SPIRE server and agent \`trust_domain\`, controller manager \`trustDomain\`, Istio \`meshConfig.trustDomain\`).`);
  });
});

describe('pods with a SPIRE identity but no SPIRE template', () => {
  const withoutSpireTemplate = (docs: any[]) => {
    docs.find((doc) => doc.kind === 'Deployment' && doc.metadata.name === 'httpbin').spec.template.metadata.annotations['inject.istio.io/templates'] = 'sidecar';
  };

  test('a pod a ClusterSPIFFEID gives an Istio identity is an error', () => {
    const { status, lines } = runCheck(brokenCopy('0004-workloads.k8s.yaml', withoutSpireTemplate));
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringContaining('error: Deployment demo/httpbin: ClusterSPIFFEID istio-mesh-workloads gives this pod an Istio identity, but its inject.istio.io/templates annotation asks for no SPIRE template, so istio-proxy never mounts the SPIRE socket'));
  });

  test('a pod with the default label is an error even when no ClusterSPIFFEID is in the input', () => {
    const copy = brokenCopy('0004-workloads.k8s.yaml', withoutSpireTemplate);
    fs.rmSync(path.join(copy, '0002-identities.k8s.yaml'));
    const { status, lines } = runCheck(copy);
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringContaining('error: Deployment demo/httpbin: the pod carries spiffe.io/spire-managed-identity: "true", but its inject.istio.io/templates annotation asks for no SPIRE template'));
    expect(lines).toContain('not checked: ClusterSPIFFEIDs serve the mesh: the input has no ClusterSPIFFEID');
  });

  test('a pod that opts out of injection is left alone', () => {
    const { lines } = runCheck(brokenCopy('0004-workloads.k8s.yaml', (docs) => {
      withoutSpireTemplate(docs);
      docs.find((doc) => doc.kind === 'Deployment' && doc.metadata.name === 'httpbin').spec.template.metadata.labels['sidecar.istio.io/inject'] = 'false';
    }));
    expect(lines.filter((line) => line.includes('asks for no SPIRE template'))).toEqual([]);
  });
});

describe('CAs below a server whose CA AWS Private CA issues', () => {
  const PCA_ARN = 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/12ac02bc-d425-49f7-ab78-570a44972772';
  const editServerConf = (docs: any[], edit: (conf: any) => void) => {
    const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['server.conf']);
    const conf = JSON.parse(configMap.data['server.conf']);
    edit(conf);
    configMap.data['server.conf'] = JSON.stringify(conf);
  };
  /** dist/ with the server's CA from AWS Private CA (with the given template ARN) and `below` added. */
  const withPca = (templateArn: string | undefined, below: (docs: any[]) => void) => brokenCopy('0001-spire.k8s.yaml', (docs) => {
    editServerConf(docs, (conf) => {
      conf.plugins.UpstreamAuthority = [{ aws_pca: { plugin_data: { region: 'eu-west-1', certificate_authority_arn: PCA_ARN, ca_signing_template_arn: templateArn } } }];
    });
    below(docs);
  });
  const downstreamEntry = (docs: any[]) => docs.push({
    apiVersion: 'spire.spiffe.io/v1alpha1',
    kind: 'ClusterStaticEntry',
    metadata: { name: 'nested' },
    spec: { className: 'spire-server-spire', downstream: true, spiffeID: 'spiffe://example.org/spire/nested', parentID: 'spiffe://example.org/node', selectors: ['k8s:ns:nested'] },
  });
  const nestedServer = (docs: any[]) => {
    const server = structuredClone(docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['server.conf']));
    server.metadata.namespace = 'spire-nested';
    editServerConf([server], (conf) => {
      conf.plugins.UpstreamAuthority = [{ spire: { plugin_data: { server_address: 'spire-server.spire-server.svc', server_port: '8081', workload_api_socket: '/run/spire/upstream-agent/socket' } } }];
    });
    docs.push(server);
  };
  const WARNING = 'warning: ConfigMap spire-server/spire-server: the server\'s CA is issued by AWS Private CA with the template SubordinateCACertificate_PathLen0/V1, which allows no CA below it, but';

  test.each([
    ['a downstream entry of its class', downstreamEntry, 'ClusterStaticEntry nested is a downstream entry'],
    ['a nested server of its trust domain', nestedServer, 'ConfigMap spire-nested/spire-server holds a nested server of example.org'],
  ])('SPIRE\'s default template under %s is a warning, not an error', (_, below, evidence) => {
    const { status, lines } = runCheck(withPca(undefined, below));
    expect(status).toBe(0);
    expect(lines).toContainEqual(expect.stringContaining(`${WARNING} ${evidence}`));
    expect(lines.at(-1)).toBe('0 error(s), 1 warning(s)');
  });

  test('a template that allows a CA below, or nothing below, is no warning', () => {
    expect(runCheck(withPca('arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen1/V1', downstreamEntry)).lines.at(-1)).toBe('0 error(s), 0 warning(s)');
    expect(runCheck(withPca(undefined, () => {})).lines.at(-1)).toBe('0 error(s), 0 warning(s)');
  });
});

test('workloads alone are never a pass: what could not be checked is listed', () => {
  const { status, lines } = runCheck(path.join(dir, '0004-workloads.k8s.yaml'));
  expect(status).toBe(3);
  expect(lines).toContain('checked: SPIRE configs: 0 server, 0 agent, 0 controller manager, 0 unreadable');
  expect(lines).toContain('not checked: one trust domain: the input has no SPIRE server config, no SPIRE agent config, no Istio install source (IstioOperator or istiod Helm values)');
  expect(lines.some((line) => line.startsWith('0 error(s)'))).toBe(false);
});

test('unreadable input is a usage error, not a pass', () => {
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'check-')), 'bad.yaml');
  fs.writeFileSync(bad, 'a: [unclosed\n');
  expect(runCheck(bad).status).toBe(2);
  expect(runBin(bad)).toEqual(expect.objectContaining({ status: 2, stderr: expect.stringContaining('bad.yaml: not valid YAML') }));
  expect(runCheck().status).toBe(2);
  expect(runCheck(dir, '--istiod-values').status).toBe(2);
});

/** dist/ with settings added to the controller manager's config. */
const withManagerSettings = (settings: object) => brokenCopy('0001-spire.k8s.yaml', (docs) => {
  const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['controller-manager-config.yaml']);
  const config = JSON.parse(configMap.data['controller-manager-config.yaml']);
  configMap.data['controller-manager-config.yaml'] = JSON.stringify({ ...config, ...settings });
});

describe('kinds the controller manager does not reconcile', () => {
  const withReconcile = (reconcile: object) => withManagerSettings({ reconcile });

  test('ClusterSPIFFEIDs of its class that it does not reconcile are an error', () => {
    const { status, lines } = runCheck(withReconcile({ clusterStaticEntries: true, clusterFederatedTrustDomains: true }));
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringContaining('error: ConfigMap spire-server/spire-server: reconcile leaves ClusterSPIFFEIDs out, so ClusterSPIFFEID istio-mesh-workloads of class "spire-server-spire" never becomes SPIRE state. Fix: set reconcile.clusterSPIFFEIDs to true'));
  });

  test('kinds the input holds none of may be left out', () => {
    const { lines } = runCheck(withReconcile({ clusterSPIFFEIDs: true }));
    expect(lines.filter((line) => line.includes('reconcile leaves'))).toEqual([]);
  });
});

describe('namespaces the controller manager watches', () => {
  const watching = (cacheNamespaces: object) => withManagerSettings({ cacheNamespaces });

  test('a pod its ClusterSPIFFEIDs select outside them is an error', () => {
    const { status, lines } = runCheck(watching({ payments: {} }));
    expect(status).toBe(1);
    expect(lines).toContainEqual(expect.stringContaining('error: Deployment demo/httpbin: a ClusterSPIFFEID of class "spire-server-spire" selects this pod, but its controller manager watches only namespaces payments (cacheNamespaces), so the pod never gets an entry. Fix: add demo to cacheNamespaces'));
  });

  test('watching the pods\' namespaces is fine', () => {
    const { lines } = runCheck(watching({ demo: {}, bookstore: {}, 'istio-ingress': {} }));
    expect(lines.filter((line) => line.includes('(cacheNamespaces)'))).toEqual([]);
  });
});
