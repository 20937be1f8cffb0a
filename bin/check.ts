#!/usr/bin/env node
import { loadManifests } from '../lib/check/manifests';
import { checkManifests, Finding } from '../lib/check/rules';

const USAGE = 'usage: cdk8s-spire-istio check <file or directory>...';

function formatFinding(item: Finding): string {
  return `${item.file}: ${item.severity}: ${item.object}: ${item.message}. Fix: ${item.fix}.`;
}

function main(argv: string[]): number {
  const [command, ...paths] = argv;
  if (command !== 'check' || paths.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const findings = checkManifests(loadManifests(paths));
  for (const item of findings) console.log(formatFinding(item));
  const errors = findings.filter((item) => item.severity === 'error').length;
  console.log(`${errors} error(s), ${findings.length - errors} warning(s)`);
  return errors > 0 ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
