import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EAST, synthFederation, WEST } from '../../examples/federation/federation';
import { loadInput, ManifestObject } from '../../lib/check/manifests';
import { checkInput, principalsOf } from '../../lib/check/rules';
import { DemoWorkloads } from '../../lib/constructs/demo-workloads';
import { wiringReport } from '../../lib/check/wiring-report';
import { SPIRE_MANAGED_IDENTITY_LABEL } from '../../lib/spire/labels';

const root = path.join(__dirname, '..', '..');
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'federation-'));
synthFederation(outdir);

/** East's objects, with the ones `edit` returns false for left out. */
function east(edit: (object: ManifestObject) => boolean | void = () => true): ManifestObject[] {
  return loadInput([path.join(outdir, EAST.clusterName)]).filter((object) => edit(object) !== false);
}

const messages = (objects: ManifestObject[]) => checkInput(objects).findings.map((finding) => `${finding.object}: ${finding.message}`);
const agentConfigMap = (object: ManifestObject) => object.doc.kind === 'ConfigMap' && object.doc.data?.['agent.conf'] !== undefined;
const editAgentConf = (object: ManifestObject, edit: (conf: any) => void) => {
  const conf = JSON.parse(object.doc.data['agent.conf']);
  edit(conf);
  object.doc.data['agent.conf'] = JSON.stringify(conf);
};

describe('wiring rules on the federation example', () => {
  test.each([EAST, WEST])('$clusterName has no findings and runs every rule, both freshly synthesized and in dist-federation/', (cluster) => {
    for (const dir of [path.join(outdir, cluster.clusterName), path.join(root, 'dist-federation', cluster.clusterName)]) {
      const report = checkInput(loadInput([dir]));
      expect(report.findings).toEqual([]);
      expect(report.notRun).toEqual([]);
    }
  });

  test.each([[EAST, WEST], [WEST, EAST]])('$clusterName\'s httpbin lets in the partner\'s sleep', (cluster, partner) => {
    const policy = loadInput([path.join(outdir, cluster.clusterName)])
      .find(({ doc }) => doc.kind === 'AuthorizationPolicy' && doc.metadata?.name === 'httpbin');
    expect(principalsOf(policy!.doc)).toContain(`${partner.trustDomain}/ns/${DemoWorkloads.DEFAULT_NAMESPACE}/sa/${DemoWorkloads.SLEEP_NAME}`);
  });

  test('a declaration that carries the bundle is reported as such', () => {
    const report = wiringReport(east((object) => {
      if (object.doc.kind === 'ClusterFederatedTrustDomain') object.doc.spec.trustDomainBundle = '{"keys":[]}';
    }));
    expect(report).toContain(`| bundle before the first fetch | ${WEST.trustDomain} | \`in trustDomainBundle\` |`);
  });

  test('only the demo\'s sleep and httpbin federate; the gateway and the mesh identity do not', () => {
    const objects = east();
    const spiffeIds = objects.filter(({ doc }) => doc.kind === 'ClusterSPIFFEID');
    expect(spiffeIds.map(({ doc }) => [doc.metadata?.name, doc.spec.federatesWith])).toEqual([['istio-mesh-workloads', undefined], ['demo-federated', [WEST.trustDomain]]]);
    const podLabel = (name: string) => objects.find(({ doc }) => doc.kind === 'Deployment' && doc.metadata?.name === name)!.doc.spec.template.metadata.labels[SPIRE_MANAGED_IDENTITY_LABEL];
    expect(['sleep', 'httpbin', 'istio-ingressgateway'].map(podLabel)).toEqual(['demo-federated', 'demo-federated', 'true']);
  });

  test.each([[EAST, WEST], [WEST, EAST]])('$clusterName\'s sleep calls the partner\'s httpbin sidecar to sidecar, so the partner sees sleep\'s own ID', (cluster, partner) => {
    const objects = loadInput([path.join(outdir, cluster.clusterName)]);
    const host = `httpbin.${DemoWorkloads.DEFAULT_NAMESPACE}.${partner.trustDomain}`;
    const entry = objects.find(({ doc }) => doc.kind === 'ServiceEntry')!.doc;
    expect(entry.spec).toEqual(expect.objectContaining({ hosts: [host], location: 'MESH_INTERNAL', exportTo: ['.'] }));
    expect(entry.spec.endpoints).toEqual([{ address: host, labels: { 'security.istio.io/tlsMode': 'istio' } }]);
    const rule = objects.find(({ doc }) => doc.kind === 'DestinationRule')!.doc;
    expect(rule.spec).toEqual({ host, exportTo: ['.'], trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [`spiffe://${partner.trustDomain}/ns/demo/sa/httpbin`] } } });
    // The partner exposes its httpbin pods themselves, not its ingress gateway, on the port the entry dials.
    const exposed = loadInput([path.join(outdir, partner.clusterName)]).find(({ doc }) => doc.kind === 'Service' && doc.metadata?.name === 'httpbin-federation')!.doc;
    expect(exposed.spec).toEqual(expect.objectContaining({ type: 'LoadBalancer', selector: { app: 'httpbin' } }));
    expect(exposed.spec.ports[0].targetPort).toBe(entry.spec.ports[0].number);
  });

  test.each([[EAST, WEST], [WEST, EAST]])('$clusterName\'s httpbin policy names exactly the partner\'s sleep from the partner', (cluster, partner) => {
    const policy = loadInput([path.join(outdir, cluster.clusterName)]).find(({ doc }) => doc.kind === 'AuthorizationPolicy' && doc.metadata?.name === 'httpbin')!.doc;
    expect(principalsOf(policy).filter((principal) => principal.startsWith(`${partner.trustDomain}/`))).toEqual([`${partner.trustDomain}/ns/demo/sa/sleep`]);
  });

  test('a trust domain no ClusterFederatedTrustDomain declares is reported', () => {
    expect(messages(east((object) => object.doc.kind !== 'ClusterFederatedTrustDomain'))).toEqual([
      expect.stringContaining(`ClusterSPIFFEID demo-federated: federatesWith lists ${WEST.trustDomain}, but no ClusterFederatedTrustDomain of class "spire-server-spire" declares it`),
    ]);
  });

  test('a declaration of another class is no declaration', () => {
    expect(messages(east((object) => {
      if (object.doc.kind === 'ClusterFederatedTrustDomain') object.doc.spec.className = 'other';
    }))).toEqual([expect.stringContaining(`federatesWith lists ${WEST.trustDomain}, but no ClusterFederatedTrustDomain of class "spire-server-spire"`)]);
  });

  test('the own trust domain in federatesWith is reported', () => {
    expect(messages(east((object) => {
      if (object.doc.kind === 'ClusterSPIFFEID' && object.doc.spec.federatesWith) object.doc.spec.federatesWith = [EAST.trustDomain];
    }))).toEqual([expect.stringContaining(`federatesWith lists the own trust domain ${EAST.trustDomain}`)]);
  });

  /** A ClusterStaticEntry of east's class that federates with `trustDomains`. */
  const staticEntry = (federatesWith: string[]): ManifestObject => ({
    file: 'static-entry.yaml',
    doc: {
      apiVersion: 'spire.spiffe.io/v1alpha1',
      kind: 'ClusterStaticEntry',
      metadata: { name: 'node-exporter' },
      spec: { className: 'spire-server-spire', spiffeID: `spiffe://${EAST.trustDomain}/node-exporter`, parentID: `spiffe://${EAST.trustDomain}/node`, selectors: ['unix:uid:0'], federatesWith },
    },
  });

  test('a trust domain only a ClusterStaticEntry federates with must be declared too', () => {
    expect(messages([...east(), staticEntry(['third.example'])])).toEqual([
      expect.stringContaining('ClusterStaticEntry node-exporter: federatesWith lists third.example, but no ClusterFederatedTrustDomain of class "spire-server-spire" declares it'),
      // Both Istio sources are also told to accept its peers.
      expect.stringContaining('IstioOperator istio-system/istio-spire: istiod accepts peers of third.example'),
      expect.stringContaining('istiod accepts peers of third.example'),
    ]);
  });

  test('the proxies must validate peers of a trust domain only a ClusterStaticEntry federates with', () => {
    const objects = east((object) => {
      if (object.doc.kind === 'ClusterSPIFFEID') delete object.doc.spec.federatesWith;
      if (agentConfigMap(object)) editAgentConf(object, (conf) => { delete conf.agent.sds; });
    });
    expect(messages([...objects, staticEntry([WEST.trustDomain])])).toEqual([
      expect.stringContaining(`but istio-proxy asks for "ROOTCA", so peers of ${WEST.trustDomain} fail validation`),
    ]);
  });

  test('an endpoint SPIFFE ID outside the partner trust domain is reported', () => {
    expect(messages(east((object) => {
      if (object.doc.kind === 'ClusterFederatedTrustDomain') object.doc.spec.bundleEndpointProfile.endpointSPIFFEID = `spiffe://${EAST.trustDomain}/spire/server`;
    }))).toEqual([expect.stringContaining(`endpointSPIFFEID "spiffe://${EAST.trustDomain}/spire/server" is not in the partner's trust domain ${WEST.trustDomain}: this library federates only with endpoints that present the partner server's own ID`)]);
  });

  test.each([
    ['without an sds block', (conf: any) => { delete conf.agent.sds; }, 'under SDS name "ALL" and "ROOTCA"'],
    ['with both names ROOTCA', (conf: any) => { conf.agent.sds.default_bundle_name = 'ROOTCA'; }, 'under SDS name "ROOTCA" and "ROOTCA"'],
  ])('an agent %s leaves federated peers unvalidated', (_, edit, message) => {
    expect(messages(east((object) => {
      if (agentConfigMap(object)) editAgentConf(object, edit);
    }))).toEqual([expect.stringContaining(`the agent serves the federated bundles ${message} with its own bundle only, but istio-proxy asks for "ROOTCA"`)]);
  });

  test('an agent that leaves out the SPIFFE validator lets partner CAs vouch for own IDs', () => {
    expect(messages(east((object) => {
      if (agentConfigMap(object)) editAgentConf(object, (conf) => { conf.agent.sds.disable_spiffe_cert_validation = true; });
    }))).toEqual([expect.stringContaining(`the agent sets disable_spiffe_cert_validation, so Envoy accepts any certificate chaining to any bundle and a CA of ${WEST.trustDomain} could vouch for IDs of this trust domain`)]);
  });

  test('an Istio source that does not list the partner trust domain is reported, each of them', () => {
    const findings = messages(east((object) => {
      // The IstioOperator and the istiod Helm values both hold it under spec.
      if (object.doc.spec?.meshConfig) delete object.doc.spec.meshConfig.caCertificates;
    }));
    expect(findings).toEqual([
      expect.stringContaining(`IstioOperator istio-system/istio-spire: istiod accepts peers of ${WEST.trustDomain} on inbound mTLS only when meshConfig lists them`),
      expect.stringContaining(`istiod accepts peers of ${WEST.trustDomain} on inbound mTLS only when meshConfig lists them`),
    ]);
  });

  test('the wiring report has a federation section read off the objects', () => {
    const report = wiringReport(east());
    expect(report).toContain('## Federation');
    expect(report).toContain(`| partner | ${WEST.trustDomain} | \`${WEST.bundleEndpointUrl}, https_spiffe as spiffe://${WEST.trustDomain}/spire/server\` |`);
    expect(report).toContain(`| federates with | ClusterSPIFFEID demo-federated | \`${WEST.trustDomain}\` |`);
    expect(report).toContain('| SDS name of all bundles | ConfigMap spire-system/spire-agent | `ROOTCA` |');
    expect(report).toContain('| bundle endpoint | ConfigMap spire-server/spire-server | `0.0.0.0:8443, https_spiffe` |');
    expect(report).toMatch(new RegExp(`\\| bundle before the first fetch \\| ${WEST.trustDomain} \\| \`set by hand \\(spire-server bundle set\\) before [^\`]*/0003-federated-identities\\.k8s\\.yaml\` \\|`));
    // What Istio opens mesh-wide, and what keeps it closed.
    expect(report).toContain(`| accepted trust domains | IstioOperator istio-system/istio-spire | \`${WEST.trustDomain}\` |`);
    expect(report).toContain('Istio accepts the partners\' peers on every workload (meshConfig.caCertificates is mesh-wide); only pods whose ClusterSPIFFEID federates hold their bundles, and ALLOW policies decide');
  });
});
