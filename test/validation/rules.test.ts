import {
  checkAbsolutePath, checkCanonicalQuantity, checkDnsLabel, checkDnsSubdomain, checkGoDuration, checkGoRegexp, checkLabelKey, checkLabelValue, checkPinnedImage, checkPort, checkSelector,
  checkBundleEndpointUrl, checkExposedPort, checkReplicaCount, checkRouteHost, checkSelectorMatches, urlHost,
} from '../../lib/validation/rules';

type Checker = (value: any) => unknown;

const cases: Array<[string, Checker, unknown[], unknown[]]> = [
  ['DNS-1123 label', checkDnsLabel, ['spire', 'a-1', 'x'.repeat(63)], ['Spire', '-a', 'a-', 'a.b', 'x'.repeat(64), '']],
  ['DNS-1123 subdomain', checkDnsSubdomain, ['clusterspiffeids.spire.spiffe.io', 'a'], ['A.b', 'a..b', 'a_b', '']],
  ['label key', checkLabelKey, ['app', 'spiffe.io/spire-managed-identity', 'a.b/c_d-e'], ['/app', 'Bad.Prefix/app', 'app!', 'spiffe.io/', `${'x'.repeat(64)}`]],
  ['label value', checkLabelValue, ['', 'true', 'a.b_c-d'], ['not valid', '-a', 'x'.repeat(64)]],
  ['Go duration', checkGoDuration, ['1h', '90m', '1h30m', '1.5h', '300ms'], ['1d', '1', 'h', '-1h', '0s', '1 h', '']],
  ['port', checkPort, [1, 8081, 65535], [0, 65536, 80.5, -1]],
  ['pinned image', checkPinnedImage, ['ghcr.io/spiffe/spire-agent:1.15.3', 'localhost:5000/x:1', `x@sha256:${'0'.repeat(64)}`], ['ghcr.io/spiffe/spire-agent', 'x:latest', 'localhost:5000/x', 'x:']],
  ['Go regexp', checkGoRegexp, ['^kube-system$', 'spire', '^team-[a-z]+-dev$', '(?i)^Kube', '^(?P<team>[a-z]+)-dev$', '\\.'], ['(', '^team-[a-z+$', '^(?!kube).*$', '(?<=a)b', '(a)\\1', 'a**']],
  ['selector', checkSelector, ['k8s:ns:billing', 'unix:uid:1000', 'x:y'], ['k8s', ':ns', 'k8s:', '']],
  ['canonical quantity', checkCanonicalQuantity, ['100m', '1', '1500m', '128Mi', '1Gi', '1536Mi', '999', '1k'], ['1000m', '1000', '0.5', '1024Mi', '0', '1.5Gi', 'half', '1e3', '', '-1']],
  ['route host', checkRouteHost, ['*', 'httpbin.example.org', '*.example.org', 'httpbin'], ['', '*.', 'Httpbin.example.org', 'a_b.example.org', 'http://httpbin', '**.example.org', 'demo/httpbin']],
  ['bundle endpoint URL', checkBundleEndpointUrl, ['https://spire-bundle.partner.example:8443', 'https://bundle.partner.example/path?x=a@b'], ['http://bundle.partner.example', 'https://joe@bundle.partner.example', 'https://joe:secret@bundle.partner.example:8443', 'https://@bundle.partner.example', 'bundle.partner.example']],
  ['absolute path', checkAbsolutePath, ['/run/spire', '/a/b.c'], ['run/spire', '/run/', '/a//b', '/a/../b', '/a/./b', '/']],
];

describe.each(cases)('%s', (_name, check, valid, invalid) => {
  test.each(valid)('accepts %j', (value) => expect(check(value)).toBeUndefined());
  test.each(invalid)('rejects %j with a rule and a fix', (value) => {
    expect(check(value)).toEqual({ value: String(value), rule: expect.any(String), fix: expect.any(String) });
  });
});

describe('exposed port', () => {
  test('a port the Service exposes is accepted', () => expect(checkExposedPort(8080, [80, 8080])).toBeUndefined());
  test('another port is rejected with the ports there are', () => {
    expect(checkExposedPort(9090, [80, 8080])).toEqual({ value: '9090', rule: expect.stringContaining('ports 80, 8080'), fix: expect.any(String) });
  });
});

describe('selector matches', () => {
  test('a selector whose labels the pods carry is accepted', () => expect(checkSelectorMatches({ istio: 'ingressgateway' }, { app: 'gw', istio: 'ingressgateway' })).toBeUndefined());
  test('a selector with a label the pods lack or carry with another value is rejected', () => {
    expect(checkSelectorMatches({ istio: 'ingressgateway' }, { istio: 'edge' })).toEqual({ value: 'istio=ingressgateway', rule: expect.stringContaining('istio=edge'), fix: expect.any(String) });
    expect(checkSelectorMatches({ istio: 'ingressgateway' }, {})).toEqual(expect.objectContaining({ value: 'istio=ingressgateway' }));
  });
});

describe('checkReplicaCount', () => {
  test.each([1, 2, 5])('%d replicas pass', (replicas) => expect(checkReplicaCount(replicas)).toBeUndefined());
  test.each([0, -1, 1.5, NaN])('%d replicas are rejected', (replicas) => {
    expect(checkReplicaCount(replicas)).toEqual({ value: String(replicas), rule: 'replicas is a whole number of at least 1', fix: 'set replicas to 1 or more' });
  });
});

describe('urlHost', () => {
  test.each([
    ['https://oidc.example.org:8443/tenant-a', 'oidc.example.org'],
    ['https://spire.example.org', 'spire.example.org'],
    ['spire.example.org', ''],
  ])('%s has host %j', (url, host) => expect(urlHost(url)).toBe(host));
});
