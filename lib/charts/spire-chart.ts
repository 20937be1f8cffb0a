import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { SpiffeCsiDriver, SpiffeCsiDriverOptions } from '../constructs/spiffe-csi-driver';
import { SpireAgentDaemonSet, SpireAgentOptions } from '../constructs/spire-agent-daemon-set';
import { SpirePodMonitor } from '../constructs/spire-pod-monitor';
import { SpireServer, SpireServerProps } from '../constructs/spire-server';

export interface SpireChartProps {
  /** The server's settings; trust domain and cluster name are required. */
  readonly server: SpireServerProps;
  /** @default agent defaults */
  readonly agent?: SpireAgentOptions;
  /** @default CSI driver defaults */
  readonly csiDriver?: SpiffeCsiDriverOptions;
  /**
   * Add a prometheus-operator PodMonitor for the server and one for the agents.
   * prometheus-operator's CRDs must be installed before this chart is applied.
   * @default false
   */
  readonly podMonitors?: boolean;
}

/** Apply stage 2: SPIRE server, agent and CSI driver; wait for their rollout before the next stage. */
export class SpireChart extends Chart {
  public readonly server: SpireServer;
  public readonly agent: SpireAgentDaemonSet;
  public readonly csiDriver: SpiffeCsiDriver;
  /** The PodMonitors of server and agents, when asked for. */
  public readonly podMonitors: SpirePodMonitor[];

  constructor(scope: Construct, id: string, props: SpireChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    this.server = new SpireServer(this, 'Server', props.server);
    this.agent = new SpireAgentDaemonSet(this, 'Agent', { ...props.agent, server: this.server });
    this.csiDriver = new SpiffeCsiDriver(this, 'CsiDriver', { ...props.csiDriver, agent: this.agent });
    this.podMonitors = props.podMonitors ? [
      new SpirePodMonitor(this, 'ServerPodMonitor', { target: this.server.metricsTarget }),
      new SpirePodMonitor(this, 'AgentPodMonitor', { target: this.agent.metricsTarget }),
    ] : [];
  }
}
