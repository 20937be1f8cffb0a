import { NodeAttestor } from '../../lib/config/node-attestor';
import { renderServerConfig } from '../../lib/config/server-config';
import { renderJson } from '../../lib/config/spire-config';
import { formatProblem, Problem } from '../../lib/validation/rules';
import { SERVER_CONFIG_MODEL as model } from '../support/server-config-model';

const problems = (attestor: NodeAttestor) => attestor._model().checks
  .filter((check): check is [string, Problem] => check[1] !== undefined)
  .map(([what, problem]) => formatProblem(what, problem));

/** The NodeAttestor section as it lands in server.conf: undefined values are not written. */
const rendered = (...attestors: NodeAttestor[]) =>
  JSON.parse(renderJson(renderServerConfig({ ...model, nodeAttestors: attestors.map((attestor) => attestor._model()) }))).plugins.NodeAttestor;
const dataOf = (attestor: NodeAttestor) => rendered(attestor)[1][attestor.pluginName].plugin_data;

describe('NodeAttestor rendering', () => {
  test('k8s_psat comes first and stays; the others follow in the given order', () => {
    const section = rendered(NodeAttestor.joinToken(), NodeAttestor.awsIid());
    expect(section.map((entry: object) => Object.keys(entry)[0])).toEqual(['k8s_psat', 'join_token', 'aws_iid']);
    expect(section[1]).toEqual({ join_token: { plugin_data: {} } });
    expect(renderServerConfig(model)).toHaveProperty('plugins.NodeAttestor', [expect.objectContaining({ k8s_psat: expect.anything() })]);
  });

  test('http_challenge writes only the options given, under SPIRE\'s keys', () => {
    expect(dataOf(NodeAttestor.httpChallenge())).toEqual({});
    expect(dataOf(NodeAttestor.httpChallenge({ allowedDnsPatterns: ['^vm[0-9]+\\.example\\.org$'], requiredPort: 80, allowNonRootPorts: false, tofu: false }))).toEqual({
      allowed_dns_patterns: ['^vm[0-9]+\\.example\\.org$'], required_port: 80, allow_non_root_ports: false, tofu: false,
    });
  });

  test('aws_iid names the role to assume and the organization block', () => {
    const attestor = NodeAttestor.awsIid({
      assumeRole: 'spire-describe',
      verifyOrganization: { managementAccountId: '123456789012', assumeOrgRole: 'spire-org', managementAccountRegion: 'eu-west-1', orgAccountMapTtl: '5m' },
    });
    expect(dataOf(attestor)).toEqual({
      assume_role: 'spire-describe',
      verify_organization: { management_account_id: '123456789012', assume_org_role: 'spire-org', management_account_region: 'eu-west-1', org_account_map_ttl: '5m' },
    });
  });

  test('gcp_iit reads instance metadata only when its options are given', () => {
    expect(dataOf(NodeAttestor.gcpIit({ projectIdAllowList: ['p-1'] }))).toEqual({ projectid_allow_list: ['p-1'] });
    const withMetadata = NodeAttestor.gcpIit({ projectIdAllowList: ['p-1'], instanceMetadata: { allowedLabelKeys: ['role'], allowedMetadataKeys: ['team'], maxMetadataValueSize: 256 }, agentPathTemplate: '/gce/{{ .InstanceID }}' });
    expect(dataOf(withMetadata)).toEqual({
      projectid_allow_list: ['p-1'], use_instance_metadata: true, allowed_label_keys: ['role'], allowed_metadata_keys: ['team'], max_metadata_value_size: 256, agent_path_template: '/gce/{{ .InstanceID }}',
    });
  });

  test('x509pop exchanges X509-SVIDs without a CA bundle, and reads the mounted bundle of another PKI with one', () => {
    expect(dataOf(NodeAttestor.x509Pop({ spiffePrefix: '/vm-exchange/' }))).toEqual({ mode: 'spiffe', spiffe_prefix: '/vm-exchange/' });
    const pki = NodeAttestor.x509Pop({ caBundleSecret: { name: 'vm-ca', key: 'ca.pem' }, maxIntermediates: 2, maxRsaKeySize: 4096 });
    const data = dataOf(pki);
    expect(data).toEqual({ mode: 'external_pki', ca_bundle_path: '/run/spire/node-attestors/x509pop-ca/ca.pem', max_intermediates: 2, max_rsa_key_size: 4096 });
    expect(pki._model().secretVolumes).toEqual([{ secretName: 'vm-ca', mountPath: '/run/spire/node-attestors/x509pop-ca', keys: ['ca.pem'] }]);
  });
});

describe('NodeAttestor checks', () => {
  test('valid options have no problems', () => {
    for (const attestor of [
      NodeAttestor.joinToken(),
      NodeAttestor.httpChallenge({ requiredPort: 80, tofu: false }),
      NodeAttestor.httpChallenge({ allowNonRootPorts: false, tofu: false }),
      NodeAttestor.awsIid({ verifyOrganization: { managementAccountId: '123456789012', assumeOrgRole: 'org', orgAccountMapTtl: '1m' } }),
      NodeAttestor.gcpIit({ projectIdAllowList: ['p'] }),
      NodeAttestor.x509Pop({ caBundleSecret: { name: 'ca', key: 'ca.pem' } }),
    ]) expect(problems(attestor)).toEqual([]);
  });

  test.each([
    ['an http_challenge pattern RE2 cannot compile', NodeAttestor.httpChallenge({ allowedDnsPatterns: ['^(?!bad)'] }), 'httpChallenge.allowedDnsPatterns "^(?!bad)": RE2, which the SPIRE server compiles it with, has no lookarounds'],
    ['an http_challenge port out of range', NodeAttestor.httpChallenge({ requiredPort: 70000 }), 'httpChallenge.requiredPort "70000": a port is a whole number'],
    ['tofu off while any port is allowed', NodeAttestor.httpChallenge({ tofu: false }), 'httpChallenge.tofu "false": trust on first use can be turned off only when agents must answer on a port below 1024'],
    ['tofu off with a non-root required port', NodeAttestor.httpChallenge({ requiredPort: 8080, allowNonRootPorts: false, tofu: false }), 'httpChallenge.tofu "false"'],
    ['a role ARN where a role name belongs', NodeAttestor.awsIid({ assumeRole: 'arn:aws:iam::123456789012:role/spire' }), 'awsIid.assumeRole "arn:aws:iam::123456789012:role/spire": this is the name of an IAM role, not its ARN'],
    ['a management account ID that is no account ID', NodeAttestor.awsIid({ verifyOrganization: { managementAccountId: '1234', assumeOrgRole: 'org' } }), 'awsIid.verifyOrganization.managementAccountId "1234": an AWS account ID is 12 digits'],
    ['an organization region that is no region', NodeAttestor.awsIid({ verifyOrganization: { managementAccountId: '123456789012', assumeOrgRole: 'org', managementAccountRegion: 'west' } }), 'awsIid.verifyOrganization.managementAccountRegion "west"'],
    ['an account cache below a minute', NodeAttestor.awsIid({ verifyOrganization: { managementAccountId: '123456789012', assumeOrgRole: 'org', orgAccountMapTtl: '30s' } }), 'awsIid.verifyOrganization.orgAccountMapTtl "30s": SPIRE caches the organization\'s accounts for at least 1m'],
    ['an account cache that is no duration', NodeAttestor.awsIid({ verifyOrganization: { managementAccountId: '123456789012', assumeOrgRole: 'org', orgAccountMapTtl: '3 minutes' } }), 'awsIid.verifyOrganization.orgAccountMapTtl "3 minutes": a TTL is a positive Go duration'],
    ['gcp_iit without projects', NodeAttestor.gcpIit({ projectIdAllowList: [] }), 'gcpIit.projectIdAllowList "[]": SPIRE attests no instance'],
    ['a metadata size of zero', NodeAttestor.gcpIit({ projectIdAllowList: ['p'], instanceMetadata: { maxMetadataValueSize: 0 } }), 'gcpIit.instanceMetadata.maxMetadataValueSize "0"'],
    ['an empty agent path template', NodeAttestor.gcpIit({ projectIdAllowList: ['p'], agentPathTemplate: ' ' }), 'gcpIit.agentPathTemplate " ": an empty template gives every agent the same SPIFFE ID'],
    ['an SVID prefix with a CA bundle of another PKI', NodeAttestor.x509Pop({ caBundleSecret: { name: 'ca', key: 'ca.pem' }, spiffePrefix: '/x/' }), 'x509Pop.spiffePrefix "/x/": the prefix applies to X509-SVIDs of this trust domain'],
    ['a CA bundle key that is no file name', NodeAttestor.x509Pop({ caBundleSecret: { name: 'ca', key: 'a/b' } }), 'x509Pop.caBundleSecret.key "a/b"'],
    ['no intermediates at all', NodeAttestor.x509Pop({ maxIntermediates: 0 }), 'x509Pop.maxIntermediates "0": the limit is a whole number of intermediates above 0'],
    ['a fractional RSA key size', NodeAttestor.x509Pop({ maxRsaKeySize: 2048.5 }), 'x509Pop.maxRsaKeySize "2048.5"'],
  ])('%s is reported', (_, attestor, message) => {
    expect(problems(attestor)).toEqual([expect.stringContaining(message)]);
  });

  test('required options are refused at once, naming the factory', () => {
    expect(() => NodeAttestor.gcpIit({} as any)).toThrow('NodeAttestor.gcpIit: the required prop "projectIdAllowList" is missing');
    expect(() => NodeAttestor.awsIid({ verifyOrganization: { managementAccountId: '123456789012' } as any })).toThrow('NodeAttestor.awsIid verifyOrganization: the required prop "assumeOrgRole" is missing');
    expect(() => NodeAttestor.x509Pop({ caBundleSecret: { name: 'ca' } as any })).toThrow('NodeAttestor.x509Pop caBundleSecret: the required prop "key" is missing');
  });
});
