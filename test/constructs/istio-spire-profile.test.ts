import { renderForSidecarMode } from '../../lib/injection-template';
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
