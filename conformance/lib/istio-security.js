'use strict';
// Must-fail copies of the output's Istio security objects, one file each, for kubectl-validate.
// Usage: node istio-security.js broken-copies <dir> <outDir>; prints what each copy breaks.
const path = require('path');
const { loadDir, ofKind, describe, writeYaml, runCommand } = require('./manifests');

// One value the CRD's schema forbids, per kind.
const BREAK = {
  PeerAuthentication: (obj) => { obj.spec.mtls.mode = 'STRICTEST'; return 'spec.mtls.mode STRICTEST'; },
  AuthorizationPolicy: (obj) => { obj.spec.action = 'PERMIT'; return 'spec.action PERMIT'; },
};

function brokenCopies(dir, outDir) {
  const all = loadDir(dir);
  for (const [kind, breakIt] of Object.entries(BREAK)) {
    for (const [index, entry] of ofKind(all, kind, 'security.istio.io').entries()) {
      const what = breakIt(entry.obj);
      writeYaml(path.join(outDir, `${kind}-${index}.yaml`), entry.obj);
      console.log(`${describe(entry)}: ${what}`);
    }
  }
}

runCommand({ 'broken-copies': brokenCopies });
