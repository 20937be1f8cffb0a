import { requireProps } from '../validation/required';
import { Problem } from '../validation/rules';
import { Check } from '../validation/validate';

/** When a probe runs and how many results count; unset fields keep the Kubernetes defaults. */
export interface WorkloadProbeOptions {
  /** Seconds after the container started before the first probe. @default 0 */
  readonly initialDelaySeconds?: number;
  /** Seconds between probes. @default 10 */
  readonly periodSeconds?: number;
  /** Seconds after which a probe times out. @default 1 */
  readonly timeoutSeconds?: number;
  /** Failures in a row after which the probe counts as failed. @default 3 */
  readonly failureThreshold?: number;
  /** Successes in a row after a failure for the probe to count as passed again (1 for liveness). @default 1 */
  readonly successThreshold?: number;
}

/** A probe that connects to a port of the container. */
export interface PortProbeOptions extends WorkloadProbeOptions {
  /** Port the probe connects to. @default the workload's port */
  readonly port?: number;
}

/** Where a probe connects, and how. */
export type ProbeAction =
  | { readonly kind: 'httpGet'; readonly path: string; readonly port?: number }
  | { readonly kind: 'command'; readonly command: string[] }
  | { readonly kind: 'tcpSocket'; readonly port?: number };

/**
 * How Kubernetes tells a workload's container is alive and ready, in the
 * library's own terms, so that an app passes it whatever cdk8s-plus version it
 * uses itself.
 */
export class WorkloadProbe {
  /** An HTTP GET of `path`; a status from 200 to 399 passes. */
  public static fromHttpGet(path: string, options: PortProbeOptions = {}): WorkloadProbe {
    requireProps('WorkloadProbe.fromHttpGet', { path }, [['path', 'string', 'the path to GET, e.g. "/healthz"']]);
    return new WorkloadProbe({ kind: 'httpGet', path, port: options.port }, options);
  }

  /** A command run in the container; exit status 0 passes. */
  public static fromCommand(command: string[], options: WorkloadProbeOptions = {}): WorkloadProbe {
    requireProps('WorkloadProbe.fromCommand', { command }, [['command', 'array', 'the command and its arguments, e.g. ["cat", "/tmp/ready"]']]);
    return new WorkloadProbe({ kind: 'command', command: [...command] }, options);
  }

  /** A TCP connection to `port`; an accepted connection passes. */
  public static fromTcpSocket(options: PortProbeOptions = {}): WorkloadProbe {
    return new WorkloadProbe({ kind: 'tcpSocket', port: options.port }, options);
  }

  /**
   * What the probe does and when, for the constructs that render it.
   * @internal
   */
  public readonly _definition: { readonly action: ProbeAction; readonly options: WorkloadProbeOptions };

  private constructor(action: ProbeAction, options: WorkloadProbeOptions) {
    this._definition = { action, options };
  }
}

const PROBE_MINIMUMS: Array<[keyof WorkloadProbeOptions, number]> = [
  ['initialDelaySeconds', 0], ['periodSeconds', 1], ['timeoutSeconds', 1], ['failureThreshold', 1], ['successThreshold', 1],
];

/** The API server's rules for probe timing: whole numbers from their minimum, and a liveness probe passes on one success. */
export function probeTimingChecks(prop: string, options: WorkloadProbeOptions | undefined, liveness: boolean): Check[] {
  return [
    ...PROBE_MINIMUMS.map(([field, minimum]): Check => [`${prop}.${field}`, checkAtLeast(options?.[field], minimum)]),
    [`${prop}.successThreshold`, liveness && options?.successThreshold !== undefined && options.successThreshold !== 1 ? {
      value: String(options.successThreshold),
      rule: 'Kubernetes takes only 1 as the success threshold of a liveness probe',
      fix: 'leave successThreshold unset, or 1',
    } : undefined],
  ];
}

function checkAtLeast(value: number | undefined, minimum: number): Problem | undefined {
  if (value === undefined || (Number.isInteger(value) && value >= minimum)) return undefined;
  return { value: String(value), rule: `probe timing is a whole number of at least ${minimum}`, fix: `use a whole number from ${minimum}, or leave it unset for the default` };
}
