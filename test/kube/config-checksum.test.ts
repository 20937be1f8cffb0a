import { createHash } from 'crypto';
import { ApiObject } from 'cdk8s';
import { LogLevel } from '../../lib/config/spire-config';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../lib/kube/config-checksum';
import { buildStack, StackOverrides } from '../support/stack';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The checksum annotations of the server and agent pod templates, and their ConfigMaps' data. */
function rendered(overrides: StackOverrides = {}) {
  const { server, agent } = buildStack(overrides);
  const json = (construct: any) => ApiObject.of(construct).toJson();
  const checksum = (workload: any) => json(workload).spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
  return {
    server: checksum(server.statefulSet),
    agent: checksum(agent.daemonSet),
    serverFiles: json(server.node.findChild('Config')).data,
    agentFiles: json(agent.node.findChild('Config')).data,
  };
}

describe('config checksum annotation', () => {
  test('is the sha256 of the config files the pods read, in name order', () => {
    const { server, agent, serverFiles, agentFiles } = rendered();
    expect(agent).toBe(sha256(agentFiles['agent.conf']));
    expect(server).toBe(sha256(serverFiles['controller-manager-config.yaml'] + serverFiles['server.conf']));
  });

  test('is the same in every synth of the same settings', () => {
    expect(rendered()).toEqual(rendered());
  });

  test('changes when a config value changes, on the pods that read it', () => {
    const before = rendered();
    const agentChanged = rendered({ agent: { logLevel: LogLevel.DEBUG } });
    expect(agentChanged.agent).not.toBe(before.agent);
    expect(agentChanged.server).toBe(before.server);
    expect(rendered({ server: { caTtl: '48h' } }).server).not.toBe(before.server);
    expect(rendered({ server: { watchClassless: true } }).server).not.toBe(before.server);
  });
});
