#!/usr/bin/env node
import { loadInput } from '../lib/check/manifests';
import { checkedLines, EXIT, formatFinding, verdict } from '../lib/check/report';
import { checkInput } from '../lib/check/rules';

const USAGE = 'usage: cdk8s-spire-istio check [--istiod-values FILE]... <file or directory>...';
const VALUES_FLAG = '--istiod-values';

/** Splits the arguments into manifest paths and istiod Helm values files. */
function parseArguments(args: string[]): { paths: string[]; istiodValues: string[] } | undefined {
  const paths: string[] = [];
  const istiodValues: string[] = [];
  for (let index = 0; index < args.length; index++) {
    if (args[index] !== VALUES_FLAG) {
      paths.push(args[index]);
    } else if (index + 1 < args.length) {
      istiodValues.push(args[++index]);
    } else {
      return undefined;
    }
  }
  return paths.length + istiodValues.length > 0 ? { paths, istiodValues } : undefined;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const parsed = command === 'check' ? parseArguments(rest) : undefined;
  if (!parsed) {
    console.error(USAGE);
    return EXIT.usage;
  }
  const objects = loadInput(parsed.paths, parsed.istiodValues);
  const report = checkInput(objects);
  for (const item of report.findings) console.log(formatFinding(item));
  for (const line of checkedLines(objects, report)) console.log(line);
  const { line, status } = verdict(report);
  console.log(line);
  return status;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = EXIT.usage;
}
