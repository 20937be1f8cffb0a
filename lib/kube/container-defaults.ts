import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { checkGracePeriod } from '../validation/rules';
import { ContainerSizing } from './pod-settings';
import { WorkloadProbe, WorkloadProbeOptions } from './probe';

// cdk8s-plus lists single capabilities only; Kubernetes spells "every capability" as ALL.
const ALL_CAPABILITIES = 'ALL' as kplus.Capability;

export function resources(sizing: ContainerSizing): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(sizing.cpuMillis) },
    memory: { request: Size.mebibytes(sizing.memoryMiB), limit: Size.mebibytes(sizing.memoryLimitMiB) },
  };
}

/**
 * The hardened container context: non-root, read-only root filesystem, no
 * privilege escalation, every capability dropped.
 */
export function restrictedSecurityContext(user: number): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user,
    group: user,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: [ALL_CAPABILITIES] },
  };
}

/** An HTTP probe against a container port. */
export function httpProbe(path: string, port: number, periodSeconds: number, timing: WorkloadProbeOptions = {}): kplus.Probe {
  return kplus.Probe.fromHttpGet(path, { port, ...probeTiming(periodSeconds, timing) });
}

/** A TCP connection to a container port: passes while the process accepts connections. */
export function tcpProbe(port: number, periodSeconds: number, timing: WorkloadProbeOptions = {}): kplus.Probe {
  return kplus.Probe.fromTcpSocket({ port, ...probeTiming(periodSeconds, timing) });
}

function probeTiming(periodSeconds: number, timing: WorkloadProbeOptions) {
  return {
    initialDelaySeconds: seconds(timing.initialDelaySeconds),
    periodSeconds: Duration.seconds(timing.periodSeconds ?? periodSeconds),
    timeoutSeconds: seconds(timing.timeoutSeconds),
    failureThreshold: timing.failureThreshold ?? 3,
    successThreshold: timing.successThreshold,
  };
}

/** A termination grace period; an invalid one is reported by the construct's own check, cdk8s would only throw while serializing. */
export function gracePeriod(seconds: number): Duration | undefined {
  return checkGracePeriod(seconds) ? undefined : Duration.seconds(seconds);
}

/** Pod Security Admission labels enforcing, auditing and warning at one level. */
export function podSecurityLabels(level: 'restricted' | 'baseline' | 'privileged'): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/audit': level,
    'pod-security.kubernetes.io/warn': level,
  };
}

/** Root, for node components that write to root-owned host directories, with every capability dropped. */
export function rootWithoutCapabilities(): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: false,
    user: 0,
    group: 0,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [ALL_CAPABILITIES] },
  };
}

/** The cdk8s-plus probe of a WorkloadProbe; one without a port connects to `defaultPort`. */
export function plusProbe(probe: WorkloadProbe, defaultPort: number | undefined): kplus.Probe {
  const { action, options } = probe._definition;
  const timing = {
    initialDelaySeconds: seconds(options.initialDelaySeconds),
    periodSeconds: seconds(options.periodSeconds),
    timeoutSeconds: seconds(options.timeoutSeconds),
    failureThreshold: options.failureThreshold,
    successThreshold: options.successThreshold,
  };
  switch (action.kind) {
    case 'httpGet': return kplus.Probe.fromHttpGet(action.path, { ...timing, port: action.port ?? defaultPort });
    case 'command': return kplus.Probe.fromCommand(action.command, timing);
    case 'tcpSocket': return kplus.Probe.fromTcpSocket({ ...timing, port: action.port ?? defaultPort });
  }
}

function seconds(value: number | undefined): Duration | undefined {
  return value === undefined ? undefined : Duration.seconds(value);
}
