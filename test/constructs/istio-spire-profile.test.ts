import { App, Chart } from 'cdk8s';
import * as YAML from 'yaml';
import { IstioSpireProfile } from '../../lib/constructs/istio-spire-profile';
import { renderForSidecarMode } from '../../lib/istio/injection-template';
import { buildStack, synthErrors } from '../support/stack';

describe('IstioSpireProfile', () => {
  test('a socket directory istio-proxy never reads is rejected at the profile', () => {
    const { app } = buildStack({ agent: { socketDir: '/run/spire/sockets' } });
    expect(synthErrors(app)).toEqual([expect.stringContaining('[istio/Profile] agent socketDir "/run/spire/sockets": istio-proxy reads the SDS socket only from')]);
    expect(synthErrors(buildStack({ agent: { socketDir: '/var/run/secrets/workload-spiffe-uds' } }).app)).toEqual([]);
  });

  test('a socket file name other than Istio\'s default is passed to every proxy', () => {
    const { profile } = buildStack({ agent: { socketFileName: 'spire-agent.sock' } });
    expect((profile.helmValues as any).meshConfig.defaultConfig.proxyMetadata).toEqual({ WORKLOAD_IDENTITY_SOCKET_FILE: 'spire-agent.sock' });
    expect((buildStack().profile.helmValues as any).meshConfig.defaultConfig).toBeUndefined();
  });

  test('trust domain, CSI driver and mount path come from the constructs it is given', () => {
    const { profile } = buildStack({ server: { trustDomain: 'corp.example' }, agent: { socketDir: '/var/run/secrets/workload-spiffe-uds' } });
    const values = profile.helmValues as any;
    expect(values.meshConfig.trustDomain).toBe('corp.example');
    const template = renderForSidecarMode(values.sidecarInjectorWebhook.templates.spire, true);
    expect(template.spec.initContainers[0].volumeMounts[0].mountPath).toBe('/var/run/secrets/workload-spiffe-uds');
    expect(template.spec.volumes[0].csi.driver).toBe('csi.spiffe.io');
  });

  test('the templates are named in the annotation values workloads use', () => {
    const { profile } = buildStack();
    expect(profile.sidecarTemplates).toBe('sidecar,spire');
    expect(profile.gatewayTemplates).toBe('gateway,spire-gateway');
    expect(Object.keys(profile.injectionTemplates)).toEqual(['spire', 'spire-gateway']);
  });
});

describe('your own Istio settings', () => {
  const operatorSpec = (stack: ReturnType<typeof buildStack>) =>
    (stack.app.synthYaml().split('---\n').map((doc) => YAML.parse(doc)).find((doc) => doc?.kind === 'IstioOperator')).spec;

  test('meshConfig, values and components merge deeply with SPIRE\'s, in the IstioOperator and the Helm values', () => {
    const stack = buildStack({
      profile: {
        revision: 'stable',
        trustDomainAliases: ['old.example.org'],
        meshConfig: { accessLogFile: '/dev/stdout', defaultConfig: { holdApplicationUntilProxyStarts: true } },
        values: { global: { logging: { level: 'default:debug' } }, sidecarInjectorWebhook: { templates: { audit: 'metadata: {}' } } },
        components: { egressGateways: [{ name: 'istio-egressgateway', enabled: false }] },
      },
    });
    expect(synthErrors(stack.app)).toEqual([]);
    const spec = operatorSpec(stack);
    expect(spec.revision).toBe('stable');
    expect(spec.meshConfig).toEqual({
      trustDomain: 'example.org',
      trustDomainAliases: ['old.example.org'],
      accessLogFile: '/dev/stdout',
      defaultConfig: { holdApplicationUntilProxyStarts: true },
    });
    expect(Object.keys(spec.values.sidecarInjectorWebhook.templates).sort()).toEqual(['audit', 'spire', 'spire-gateway']);
    expect(spec.values.global).toEqual({ logging: { level: 'default:debug' } });
    expect(spec.components.ingressGateways).toEqual([{ name: 'istio-ingressgateway', enabled: false }]);
    const values = stack.profile.helmValues;
    expect(values.revision).toBe('stable');
    expect(values.meshConfig).toEqual(spec.meshConfig);
    expect(values.sidecarInjectorWebhook).toEqual(spec.values.sidecarInjectorWebhook);
  });

  test('values.meshConfig joins the profile\'s meshConfig instead of replacing it in the Helm values', () => {
    const stack = buildStack({ profile: { values: { meshConfig: { accessLogFile: '/dev/stdout' }, global: { logAsJson: true } } } });
    expect(synthErrors(stack.app)).toEqual([]);
    const values = stack.profile.helmValues;
    expect(values.meshConfig).toEqual({ trustDomain: 'example.org', accessLogFile: '/dev/stdout' });
    expect(values.global).toEqual({ logAsJson: true });
    const spec = operatorSpec(stack);
    expect(spec.meshConfig).toEqual(values.meshConfig);
    expect(spec.values.meshConfig).toBeUndefined();
  });

  test.each([
    ['another trust domain', { meshConfig: { trustDomain: 'other.org' } }, 'meshConfig.trustDomain "other.org": SPIRE needs "example.org"'],
    ['another trust domain in values.meshConfig', { values: { meshConfig: { trustDomain: 'cluster.local' } } }, 'values.meshConfig.trustDomain "cluster.local": SPIRE needs "example.org"'],
    ['another socket file in values.meshConfig', { values: { meshConfig: { defaultConfig: { proxyMetadata: { WORKLOAD_IDENTITY_SOCKET_FILE: 'agent.sock' } } } } }, 'values.meshConfig.defaultConfig.proxyMetadata.WORKLOAD_IDENTITY_SOCKET_FILE "agent.sock": SPIRE needs "socket"'],
    ['one meshConfig key set two ways', { meshConfig: { accessLogFile: '/dev/stdout' }, values: { meshConfig: { accessLogFile: '/dev/stderr' } } }, 'values.meshConfig.accessLogFile "/dev/stderr": meshConfig.accessLogFile sets it to "/dev/stdout". Fix: set it in one of the two places'],
    ['native sidecars against sidecarMode in the istiod component', { components: { pilot: { k8s: { env: [{ name: 'ENABLE_NATIVE_SIDECARS', value: 'false' }] } } } }, 'components.pilot.k8s.env "false": SPIRE needs "true"'],
    ['another socket file', { meshConfig: { defaultConfig: { proxyMetadata: { WORKLOAD_IDENTITY_SOCKET_FILE: 'agent.sock' } } } }, 'WORKLOAD_IDENTITY_SOCKET_FILE "agent.sock": SPIRE needs "socket"'],
    ['native sidecars against sidecarMode', { values: { pilot: { env: { ENABLE_NATIVE_SIDECARS: 'false' } } } }, 'ENABLE_NATIVE_SIDECARS "false": SPIRE needs "true"'],
    ['a replaced spire template', { values: { sidecarInjectorWebhook: { templates: { spire: '{}' } } } }, 'templates.spire "spire": this injection template mounts the SPIRE socket'],
    ['a gateway installed without the SPIRE template', { components: { ingressGateways: [{ name: 'istio-ingressgateway', enabled: true }] } }, 'components.ingressGateways "istio-ingressgateway": a gateway istioctl installs gets no SPIRE template'],
    ['aliases outside the prop', { meshConfig: { trustDomainAliases: ['a.org'] } }, 'meshConfig.trustDomainAliases "[\\"a.org\\"]": the profile sets this itself. Fix: use the trustDomainAliases prop'],
    ['its own trust domain as an alias', { trustDomainAliases: ['example.org'] }, 'trustDomainAliases "example.org": the mesh\'s own trust domain is not an alias of itself'],
    ['the ambient profile', { profile: 'ambient' }, 'profile "ambient": ztunnel, the ambient data plane, does not take workload identities from SPIRE'],
  ])('%s is a synth error', (_what, profile, message) => {
    expect(synthErrors(buildStack({ profile }).app)).toEqual([expect.stringContaining(message)]);
  });

  test('a plain cdk8s App would drop the Helm values: an error unless they are not wanted', () => {
    const inPlainApp = (writeHelmValues?: boolean) => {
      const stack = buildStack();
      const app = new App();
      new IstioSpireProfile(new Chart(app, 'istio'), 'Unused', { csiDriver: stack.csiDriver, writeHelmValues });
      return synthErrors(app);
    };
    expect(inPlainApp()).toContainEqual(expect.stringContaining('a plain cdk8s App writes only manifests, so the istiod Helm values would be missing'));
    expect(inPlainApp(false).filter((error) => error.includes('Helm'))).toEqual([]);
  });

  test('two profiles writing one Helm values file are reported', () => {
    const stack = buildStack({ profile: { helmValuesFile: 'helm/istiod-values.yaml' } });
    const second = new Chart(stack.app, 'second-istio');
    second.addDependency(stack.chart);
    new IstioSpireProfile(second, 'Profile', { csiDriver: stack.csiDriver, helmValuesFile: 'helm/istiod-values.yaml' });
    expect(synthErrors(stack.app)).toContainEqual(expect.stringContaining('helmValuesFile "helm/istiod-values.yaml": istio/Profile writes its Helm values to the same file'));
  });
});
