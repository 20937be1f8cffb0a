// The suite's output with one server setting changed, for the runs that need it:
//   node --require ./scripts/register-typescript.cjs e2e/apps/variant.ts NAME OUTDIR
import { BOOKSTORE_MANIFEST, buildDefaultDeployment } from '../../lib/charts/default-deployment';
import { settingsFromEnvironment } from '../../lib/charts/default-settings';
import { SpireServerOptions } from '../../lib/constructs/spire-server';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';

const VARIANTS: { [name: string]: { what: string; server: SpireServerOptions } } = {
  // SVIDs short-lived enough that the agent renews them while a run watches.
  'short-svid-ttl': { what: 'X.509-SVIDs of 2 minutes (x509SvidTtl)', server: { x509SvidTtl: '2m' } },
};

const [name, outdir] = process.argv.slice(2);
const variant = VARIANTS[name];
if (variant === undefined || outdir === undefined) {
  throw new Error(`usage: variant.ts NAME OUTDIR, NAME one of ${Object.keys(VARIANTS).join(', ')}`);
}
const app = new SpireIstioApp({ outdir });
buildDefaultDeployment(app, settingsFromEnvironment({}), BOOKSTORE_MANIFEST, variant.server);
app.synth();
console.log(variant.what);
