import * as fs from 'fs';

// A global symbol, so that two copies of the library in one app recognise each other's failures.
const SYNTH_FAILURE = Symbol.for('cdk8s-spire-istio.SynthFailure');

let reportingUncaught = false;

/**
 * An error in what the app asks for, with a report that names each construct, value and fix. Its
 * stack would show only frames of cdk8s and of this library, so when nothing catches it, the
 * process prints the report alone and exits 1, as it does for any uncaught error.
 */
export function synthFailure(report: string): Error {
  const error = new Error(report);
  Object.defineProperty(error, SYNTH_FAILURE, { value: true });
  reportUncaughtFailures();
  return error;
}

/** Whether an error is a synth failure, rather than a fault of the code. */
export function isSynthFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SYNTH_FAILURE] === true;
}

/**
 * Node.js calls the monitor before it prints an uncaught error with its stack. A failure that the
 * app catches, or that an uncaughtException listener of the app's own handles, is left alone.
 */
function reportUncaughtFailures(): void {
  if (reportingUncaught) return;
  reportingUncaught = true;
  process.on('uncaughtExceptionMonitor', (error) => {
    if (!isSynthFailure(error) || process.listenerCount('uncaughtException') > 0) return;
    // Written synchronously: process.exit does not wait for a pipe to drain.
    fs.writeSync(process.stderr.fd, `${error.message}\n`);
    process.exit(1);
  });
}
