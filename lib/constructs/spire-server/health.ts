import { WorkloadProbeOptions } from '../../kube/probe';

/**
 * SPIRE reports a replica as neither live nor ready while its datastore does
 * not answer: `/live` and `/ready` both carry the datastore check (it lists the
 * bundles) and the server check (it fetches the bundle through the server API).
 * Once passing, SPIRE re-runs its checks a minute after the last round ended,
 * and the datastore check gives up after a minute. So `/live` fails from the
 * first round after the datastore goes away until a round that starts after it
 * is back: up to one interval plus two checks that time out on the way.
 */
const SPIRE_CHECK_INTERVAL_SECONDS = 60;
const SPIRE_CHECK_TIMEOUT_SECONDS = 60;
const SPIRE_CHECKS_WAITING_ON_DATASTORE = 2;

/** How long after the datastore is back `/live` may still fail. */
export const LIVE_RECOVERY_LAG_SECONDS = SPIRE_CHECK_INTERVAL_SECONDS + SPIRE_CHECKS_WAITING_ON_DATASTORE * SPIRE_CHECK_TIMEOUT_SECONDS;

/**
 * The server's liveness timing: a restart cannot bring a datastore back, and
 * a server restarted while its datastore is away fails to start and backs off,
 * so the kubelet waits out an outage of 5 minutes before it restarts a replica.
 */
export const SERVER_LIVENESS_DEFAULTS = { periodSeconds: 30, failureThreshold: 17 } as const;

/** Readiness follows `/ready` closely, so a Service sends agents only to replicas that can serve them. */
export const SERVER_READINESS_DEFAULTS = { periodSeconds: 5, failureThreshold: 3 } as const;

/**
 * The longest datastore outage (in seconds) that no replica is restarted for:
 * the kubelet restarts a container when `failureThreshold` probes
 * `periodSeconds` apart fail in a row, and `/live` fails for the outage plus
 * the recovery lag, a window that holds at most `failureThreshold - 1` probes
 * while it is no longer than `(failureThreshold - 1) * periodSeconds`.
 */
export function datastoreOutageToleranceSeconds(liveness: WorkloadProbeOptions | undefined): number {
  const periodSeconds = liveness?.periodSeconds ?? SERVER_LIVENESS_DEFAULTS.periodSeconds;
  const failureThreshold = liveness?.failureThreshold ?? SERVER_LIVENESS_DEFAULTS.failureThreshold;
  return Math.max(0, (failureThreshold - 1) * periodSeconds - LIVE_RECOVERY_LAG_SECONDS);
}
