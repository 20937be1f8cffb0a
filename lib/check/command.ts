import { loadInput } from './manifests';
import { checkedLines, DIFF_EXIT, EXIT, formatFinding, verdict } from './report';
import { checkInput } from './rules';
import { wiringDiff } from './wiring-diff';
import { wiringReportOf } from './wiring-report';

const USAGE = [
  'usage: cdk8s-spire-istio check [--istiod-values FILE]... <file or directory>...',
  '       cdk8s-spire-istio report [--istiod-values FILE]... <file or directory>...   (the wiring report, Markdown)',
  '       cdk8s-spire-istio diff <old file or directory> <new file or directory>   (what changed in wiring terms)',
].join('\n');
const VALUES_FLAG = '--istiod-values';

/** What the command prints and the status it exits with. */
export interface CommandResult {
  readonly status: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

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

/** Runs `cdk8s-spire-istio <argv>`: the findings, what was checked and the verdict; or the wiring report. */
export function runCheckCommand(argv: string[]): CommandResult {
  const [command, ...rest] = argv;
  if (command === 'diff') return runDiff(rest);
  const parsed = command === 'check' || command === 'report' ? parseArguments(rest) : undefined;
  if (!parsed) return { status: EXIT.usage, stdout: [], stderr: [USAGE] };
  try {
    if (command === 'report') return { status: EXIT.clean, stdout: [wiringReportOf(parsed.paths, parsed.istiodValues).trimEnd()], stderr: [] };
    const objects = loadInput(parsed.paths, parsed.istiodValues);
    const report = checkInput(objects);
    const { line, status } = verdict(report);
    return { status, stdout: [...report.findings.map(formatFinding), ...checkedLines(objects, report), line], stderr: [] };
  } catch (error) {
    return usageError(error);
  }
}

/** `diff OLD NEW`: the wiring changes, and whether there are any (1) or none (0). */
function runDiff(paths: string[]): CommandResult {
  if (paths.length !== 2) return { status: EXIT.usage, stdout: [], stderr: [USAGE] };
  try {
    const lines = wiringDiff(loadInput([paths[0]]), loadInput([paths[1]]));
    return { status: lines.length === 0 ? DIFF_EXIT.same : DIFF_EXIT.changed, stdout: lines, stderr: [] };
  } catch (error) {
    return usageError(error);
  }
}

function usageError(error: unknown): CommandResult {
  return { status: EXIT.usage, stdout: [], stderr: [(error as Error).message] };
}
