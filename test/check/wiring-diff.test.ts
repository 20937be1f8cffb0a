import * as path from 'path';
import { runCheckCommand } from '../../lib/check/command';
import { editedCopy } from '../support/files';
import { synthDeployment } from '../support/synth';
import {
  AGENT_CLUSTER, AGENT_SOCKET, CLASSIC_SIDECARS, Edit, ISTIO_TRUST_DOMAIN, MESH_IDS_ONLY_FOR_SLEEP, RATINGS_MAY_CALL_HTTPBIN, SLEEP_IMAGE, TEMPLATE_DRIVER,
} from '../support/wiring-edits';

const { dir } = synthDeployment();
const root = path.join(__dirname, '..', '..');

const diff = (...args: string[]) => runCheckCommand(['diff', ...args]);
const diffAfter = ([file, edit]: Edit) => diff(dir, editedCopy(dir, file, edit));

test('outputs with the same wiring print nothing and exit 0, however their files are written', () => {
  expect(diff(dir, editedCopy(dir, AGENT_CLUSTER[0], () => undefined))).toEqual({ status: 0, stdout: [], stderr: [] });
});

test.each<[string, Edit, string[]]>([
  ['the agent\'s cluster name', AGENT_CLUSTER, ['~ cluster name: SPIRE agent (ConfigMap spire-system/spire-agent): demo-cluster -> other-cluster']],
  ['the agent\'s socket path', AGENT_SOCKET, ['~ socket path: SPIRE agent serves its socket (DaemonSet spire-system/spire-agent): /run/secrets/workload-spiffe-uds/socket, in node directory /run/spire/agent-sockets -> /run/secrets/workload-spiffe-uds/agent.sock, in node directory /run/spire/agent-sockets']],
  ['the CSI driver of a template', TEMPLATE_DRIVER, ['~ CSI driver: template spire of IstioOperator istio-system/istio-spire: csi.spiffe.io -> csi.example.org']],
  ['the sidecar mode', CLASSIC_SIDECARS, ['~ sidecar mode: IstioOperator istio-system/istio-spire: native sidecar (values.pilot.env.ENABLE_NATIVE_SIDECARS "true") -> classic sidecar (values.pilot.env.ENABLE_NATIVE_SIDECARS "false")']],
  ['an image', SLEEP_IMAGE, ['~ image: Deployment demo/sleep, container sleep: docker.io/curlimages/curl:8.11.1 -> docker.io/curlimages/curl:8.12.0']],
  ['a principal', RATINGS_MAY_CALL_HTTPBIN, ['~ authorization principals: AuthorizationPolicy demo/httpbin: + example.org/ns/bookstore/sa/ratings']],
  ['Istio\'s trust domain', ISTIO_TRUST_DOMAIN, ['~ trust domain: IstioOperator istio-system/istio-spire: example.org -> cluster.local']],
  ['a ClusterSPIFFEID selector, with the workloads and IDs it no longer matches', MESH_IDS_ONLY_FOR_SLEEP, [
    '~ ClusterSPIFFEID pods: istio-mesh-workloads: spiffe.io/spire-managed-identity=true -> app=sleep',
    '~ ClusterSPIFFEID matches: istio-mesh-workloads: - Deployment bookstore/ratings, - Deployment demo/httpbin, - Deployment istio-ingress/istio-ingressgateway',
    '- SPIFFE ID: Deployment demo/httpbin: spiffe://example.org/ns/demo/sa/httpbin',
  ]],
])('a change of %s is printed in wiring terms, and exits 1', (_what, edit, lines) => {
  const result = diffAfter(edit);
  expect(result.status).toBe(1);
  expect(result.stdout).toEqual(expect.arrayContaining(lines));
  expect(result.stdout.at(-1)).toMatch(/^\d+ wiring change\(s\)$/);
});

test('one changed value is one line', () => {
  expect(diffAfter(AGENT_CLUSTER).stdout).toEqual([
    '~ cluster name: SPIRE agent (ConfigMap spire-system/spire-agent): demo-cluster -> other-cluster',
    '1 wiring change(s)',
  ]);
});

test('federation: partners, the endpoint served and the trust domains accepted, between the two clusters of the example', () => {
  const { stdout } = diff(path.join(root, 'dist-federation', 'east'), path.join(root, 'dist-federation', 'west'));
  expect(stdout).toEqual(expect.arrayContaining([
    '- federation partner: west.example.org: https://spire-bundle.west.example.org:8443, https_spiffe as spiffe://west.example.org/spire/server',
    '+ federation partner: east.example.org: https://spire-bundle.east.example.org:8443, https_spiffe as spiffe://east.example.org/spire/server',
    '~ federation accepted trust domains: IstioOperator istio-system/istio-spire: west.example.org -> east.example.org',
  ]));
  expect(stdout).toEqual(diff(path.join(root, 'dist-federation', 'east'), path.join(root, 'dist-federation', 'west')).stdout);
});

test('anything but two paths is a usage error', () => {
  expect(diff(dir).status).toBe(2);
  expect(diff(dir, dir, dir).status).toBe(2);
  expect(diff(dir, path.join(dir, 'missing')).status).toBe(2);
});
