import { datastoreOutageToleranceSeconds, LIVE_RECOVERY_LAG_SECONDS } from '../../../lib/constructs/spire-server/health';
import { WorkloadProbeOptions } from '../../../lib/kube/probe';

/** Whether a liveness probe restarts the container while `/live` fails for `failingSeconds`, for the worst phase of the probes. */
function restartsDuring(failingSeconds: number, periodSeconds: number, failureThreshold: number): boolean {
  for (let phase = 0; phase < periodSeconds; phase += 0.5) {
    let failures = 0;
    for (let at = phase; at < failingSeconds; at += periodSeconds) failures++;
    if (failures >= failureThreshold) return true;
  }
  return false;
}

describe('the server\'s datastore outage tolerance', () => {
  test.each<[WorkloadProbeOptions, number]>([
    [{}, 300],
    [{ periodSeconds: 60, failureThreshold: 10 }, 360],
    [{ periodSeconds: 10, failureThreshold: 3 }, 0],
  ])('%j tolerates %ds, and no second more', (liveness, tolerated) => {
    expect(datastoreOutageToleranceSeconds(liveness)).toBe(tolerated);
    const periodSeconds = liveness.periodSeconds ?? 30;
    const failureThreshold = liveness.failureThreshold ?? 17;
    if (tolerated > 0) expect(restartsDuring(tolerated + LIVE_RECOVERY_LAG_SECONDS, periodSeconds, failureThreshold)).toBe(false);
    expect(restartsDuring(tolerated + LIVE_RECOVERY_LAG_SECONDS + 1, periodSeconds, failureThreshold)).toBe(true);
  });

  test('SPIRE\'s /live may fail for 3 minutes after the datastore is back', () => {
    expect(LIVE_RECOVERY_LAG_SECONDS).toBe(180);
  });
});
