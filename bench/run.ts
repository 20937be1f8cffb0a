/**
 * `npm run bench`: measures, in one run, what PR workflows pay for.
 * - cold `cdk8s synth` of the default deployment vs a one-ConfigMap app, same toolchain;
 * - synth time and peak memory with 10, 100 and 1,000 extra SPIRE-enabled workloads;
 * - `npm test` wall time.
 * Each figure is the median of several runs. Nothing here is a test: it prints numbers.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const CDK8S = path.join(ROOT, 'node_modules', '.bin', 'cdk8s');
const RUNS = Number(process.env.BENCH_RUNS ?? '5');
const TEST_RUNS = Number(process.env.BENCH_TEST_RUNS ?? '3');
// The app command of cdk8s.yaml.
const TOOLCHAIN = 'node --require tsx/cjs';

interface Sample {
  readonly seconds: number;
  readonly peakMiB: number;
}

/**
 * Runs a command once; returns wall time and the peak RSS of the node
 * process whose arguments mention `memoryOf` (all of them when omitted).
 */
function measure(command: string, args: string[], env: Record<string, string> = {}, memoryOf = ''): Sample {
  const memoryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-'));
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      ...env,
      BENCH_MEMORY_DIR: memoryDir,
      NODE_OPTIONS: `--require ${path.join(__dirname, 'peak-memory.cjs')}`,
    },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  const peaks = fs.readdirSync(memoryDir)
    .map((file) => JSON.parse(fs.readFileSync(path.join(memoryDir, file), 'utf8')) as { argv: string[]; peakKiB: number })
    .filter((record) => (record.argv[0] ?? '').endsWith(memoryOf))
    .map((record) => record.peakKiB);
  fs.rmSync(memoryDir, { recursive: true });
  return { seconds, peakMiB: Math.max(...peaks) / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function medianOf(runs: number, run: () => Sample): Sample {
  const samples = Array.from({ length: runs }, run);
  return { seconds: median(samples.map((s) => s.seconds)), peakMiB: median(samples.map((s) => s.peakMiB)) };
}

/** A cold `cdk8s synth` of an app file; memory is the app process's, not the CLI's. */
function synth(appFile: string, env: Record<string, string> = {}): Sample {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    return measure(CDK8S, ['synth', '--check-upgrade', 'false', '--app', `${TOOLCHAIN} ${appFile}`, '--output', outdir], env, appFile);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

const fmt = (sample: Sample) => `${sample.seconds.toFixed(2)} s, peak ${sample.peakMiB.toFixed(0)} MiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

function main(): void {
  console.log(`cdk8s-spire-istio bench: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, median of ${RUNS} runs`);
  const bare = medianOf(RUNS, () => synth('bench/bare-app.ts'));
  const deployment = medianOf(RUNS, () => synth('main.ts'));
  console.log(`cold cdk8s synth, one-ConfigMap app:   ${fmt(bare)}`);
  console.log(`cold cdk8s synth, default deployment:  ${fmt(deployment)}  (${ratio(deployment.seconds, bare.seconds)} the bare app; target ≤ 1.50×)`);

  let previous: { count: number; sample: Sample } | undefined;
  for (const count of [10, 100, 1000]) {
    const sample = medianOf(RUNS, () => synth('bench/scale-app.ts', { BENCH_WORKLOADS: String(count) }));
    const growth = previous ? `, +${((sample.seconds - previous.sample.seconds) / (count - previous.count) * 1000).toFixed(1)} ms per added workload` : '';
    console.log(`cdk8s synth with ${String(count).padStart(4)} extra workloads: ${fmt(sample)}  (${ratio(sample.seconds, deployment.seconds)} the default deployment${growth})`);
    previous = { count, sample };
  }
  console.log('(target: 1,000 workloads ≤ 2.00× the default deployment, growth no worse than linear)');

  const tests = medianOf(TEST_RUNS, () => measure('npm', ['test', '--silent'], {}, 'jest'));
  console.log(`npm test: ${fmt(tests)}  (median of ${TEST_RUNS}; target ≤ 30 s)`);
}

main();
