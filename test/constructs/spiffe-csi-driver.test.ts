import { ApiObject } from 'cdk8s';
import { buildStack, StackOverrides, synthErrors } from '../support/stack';

const errorsWith = (csiDriver: StackOverrides['csiDriver']) => synthErrors(buildStack({ csiDriver }).app);
const csiDriverObject = (stack: ReturnType<typeof buildStack>) => stack.chart.toJson().find((object: any) => object.kind === 'CSIDriver');
const driverContainer = (stack: ReturnType<typeof buildStack>) =>
  ApiObject.of(stack.agent.daemonSet).toJson().spec.template.spec.containers.find((container: any) => container.name === 'spiffe-csi-driver');

describe('SpiffeCsiDriver', () => {
  test('a driver name of its own names the CSIDriver, the plugin, its kubelet directory and the volumes of Istio\'s proxies', () => {
    const stack = buildStack({ csiDriver: { driverName: 'upstream.csi.spiffe.io' } });
    expect(synthErrors(stack.app)).toEqual([]);
    expect(csiDriverObject(stack).metadata.name).toBe('upstream.csi.spiffe.io');
    const args: string[] = driverContainer(stack).args;
    expect(args[args.indexOf('-plugin-name') + 1]).toBe('upstream.csi.spiffe.io');
    const volumes = ApiObject.of(stack.agent.daemonSet).toJson().spec.template.spec.volumes;
    expect(volumes).toContainEqual(expect.objectContaining({ hostPath: { path: '/var/lib/kubelet/plugins/upstream.csi.spiffe.io', type: 'DirectoryOrCreate' } }));
    expect(stack.profile.csiDriver.driverName).toBe('upstream.csi.spiffe.io');
    expect(csiDriverObject(buildStack()).metadata.name).toBe('csi.spiffe.io');
  });

  test.each([
    ['Upstream.CSI', 'driverName "Upstream.CSI"'],
    [`${'a'.repeat(60)}.spiffe.io`, 'a CSI driver name has at most 63 characters'],
  ])('driver name %s is refused', (driverName, message) => {
    expect(errorsWith({ driverName })).toEqual([expect.stringContaining(message)]);
  });

  test('resources replace the driver container\'s own and are checked', () => {
    const stack = buildStack({ csiDriver: { resources: { requests: { cpu: '20m' }, limits: { memory: '128Mi' } } } });
    expect(driverContainer(stack).resources).toEqual({ requests: { cpu: '20m' }, limits: { memory: '128Mi' } });
    expect(driverContainer(buildStack()).resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } });
    expect(errorsWith({ resources: { limits: { memory: '1024Mi' } } })).toEqual([expect.stringContaining('resources "1024Mi"')]);
  });

  test('labels of the CSIDriver object are written when set and checked', () => {
    expect(csiDriverObject(buildStack({ csiDriver: { csiDriverLabels: { team: 'platform' } } })).metadata.labels).toEqual({ team: 'platform' });
    expect(csiDriverObject(buildStack()).metadata).not.toHaveProperty('labels');
    expect(errorsWith({ csiDriverLabels: { 'bad key!': 'x' } })).toEqual([expect.stringContaining('csiDriverLabels "bad key!"')]);
  });

  test('the driver\'s liveness probe timing replaces the defaults and is checked', () => {
    expect(driverContainer(buildStack({ csiDriver: { livenessProbe: { initialDelaySeconds: 5, timeoutSeconds: 5 } } })).livenessProbe)
      .toMatchObject({ initialDelaySeconds: 5, timeoutSeconds: 5, periodSeconds: 30, httpGet: { path: '/healthz', port: 9808 } });
    expect(errorsWith({ livenessProbe: { timeoutSeconds: 0 } })).toEqual([expect.stringContaining('livenessProbe.timeoutSeconds "0"')]);
  });
});
