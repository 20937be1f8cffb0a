import { IConstruct } from 'constructs';

// A global symbol, so that two copies of the library in one app recognise each other's apps.
const APP_SYMBOL = Symbol.for('cdk8s-spire-istio.SpireIstioApp');

/** Marks an app as a SpireIstioApp, which writes what the output needs besides the manifests. */
export function brandSpireIstioApp(app: IConstruct): void {
  Object.defineProperty(app, APP_SYMBOL, { value: true });
}

/** Whether a construct is a SpireIstioApp, of any copy of this library. */
export function isSpireIstioApp(construct: IConstruct): boolean {
  return (construct as unknown as Record<symbol, unknown>)[APP_SYMBOL] === true;
}
