/**
 * `npm run bench`: what a developer and a PR workflow wait for, each figure
 * the median of several cold runs (a fresh process each), written into a
 * scratch directory so `dist/` is never touched.
 * - the floor: the cdk8s CLI synthesizing a plain-JavaScript one-ConfigMap app;
 * - `npm run synth` of the default deployment, exactly as a user runs it, against the floor;
 * - the edit-synth loop: `npm run synth` right after a source file changed;
 * - synth time and the app's peak memory with 0, 10, 100 and 1,000 extra
 *   SPIRE-enabled workloads, run with the command of `npm run synth`, and
 *   what 1,000 workloads of the same objects written with cdk8s-plus alone
 *   add to the floor: the part of the growth that is the toolchain's;
 * - `npm test` wall time.
 * Nothing here is a test: it prints numbers.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const CDK8S = path.join(ROOT, 'node_modules', '.bin', 'cdk8s');
const RUNS = Number(process.env.BENCH_RUNS ?? '5');
const TEST_RUNS = Number(process.env.BENCH_TEST_RUNS ?? '3');
const ENTRY = 'main.ts';
/** The file the edit-synth loop changes before each run: one every synth loads. */
const EDITED_SOURCE = path.join(ROOT, 'lib', 'constructs', 'spire-server.ts');

interface Sample {
  readonly seconds: number;
  readonly peakMiB: number;
}

/**
 * Runs a command once; returns wall time and the peak RSS of the node
 * process whose script ends with `memoryOf`.
 */
function measure(command: string, args: string[], env: Record<string, string>, memoryOf: string): Sample {
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

/** Runs `run` with a fresh, empty output directory that is removed afterwards. */
function inScratchOutput(run: (outdir: string) => Sample): Sample {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    return run(path.join(scratch, 'out'));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The floor: a cold `cdk8s synth` of the plain-JavaScript one-ConfigMap app, with `plainWorkloads` added. */
function cliSynthOfBareApp(plainWorkloads = 0): Sample {
  return inScratchOutput((outdir) => measure(CDK8S, ['synth', '--check-upgrade', 'false', '--app', 'node bench/bare-app.js', '--output', outdir],
    { BENCH_WORKLOADS: String(plainWorkloads) }, 'bare-app.js'));
}

/** A cold `npm run synth`, as a user runs it, into a scratch directory. */
function npmRunSynth(): Sample {
  return inScratchOutput((outdir) => measure('npm', ['run', 'synth'], { CDK8S_OUTDIR: outdir }, ENTRY));
}

/** `npm run synth` right after `EDITED_SOURCE` changed, so the app loads a changed file. */
function npmRunSynthAfterEdit(run: number): Sample {
  const original = fs.readFileSync(EDITED_SOURCE);
  try {
    fs.writeFileSync(EDITED_SOURCE, Buffer.concat([original, Buffer.from(`// bench edit ${process.pid}-${run}-${Date.now()}\n`)]));
    return npmRunSynth();
  } finally {
    fs.writeFileSync(EDITED_SOURCE, original);
  }
}

/** The command of `npm run synth` with its entry point swapped for another app. */
function synthCommandFor(appFile: string): string {
  const script = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.synth;
  if (!script.endsWith(` ${ENTRY}`)) throw new Error(`the synth script "${script}" does not end with ${ENTRY}`);
  return `${script.slice(0, -ENTRY.length)}${appFile}`;
}

/** A cold synth of the default deployment plus `count` extra workloads, run as `npm run synth` runs its app. */
function scaleSynth(count: number): Sample {
  const appFile = 'bench/scale-app.ts';
  return inScratchOutput((outdir) =>
    measure('sh', ['-c', synthCommandFor(appFile)], { CDK8S_OUTDIR: outdir, BENCH_WORKLOADS: String(count) }, appFile));
}

const fmt = (sample: Sample) => `${sample.seconds.toFixed(2)} s, peak ${sample.peakMiB.toFixed(0)} MiB`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const load = () => os.loadavg().map((value) => value.toFixed(2)).join(' ');

function main(): void {
  console.log(`cdk8s-spire-istio bench: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, median of ${RUNS} runs, load average ${load()}`);
  const floor = medianOf(RUNS, cliSynthOfBareApp);
  const deployment = medianOf(RUNS, npmRunSynth);
  let run = 0;
  const edited = medianOf(RUNS, () => npmRunSynthAfterEdit(run++));
  console.log(`floor, cdk8s synth of a plain-JS one-ConfigMap app: ${fmt(floor)}`);
  console.log(`npm run synth, default deployment:                 ${fmt(deployment)}  (${ratio(deployment.seconds, floor.seconds)} the floor; target ≤ 1.25×)`);
  console.log(`npm run synth after a source file changed:         ${fmt(edited)}`);

  const base = medianOf(RUNS, () => scaleSynth(0));
  console.log(`synth command, default deployment:                 ${fmt(base)}`);
  let previous = { count: 0, sample: base };
  for (const count of [10, 100, 1000]) {
    const sample = medianOf(RUNS, () => scaleSynth(count));
    const growth = (sample.seconds - previous.sample.seconds) / (count - previous.count) * 1000;
    console.log(`synth command, ${String(count).padStart(4)} extra workloads:             ${fmt(sample)}  (${ratio(sample.seconds, base.seconds)} the default deployment, ${growth >= 0 ? '+' : ''}${growth.toFixed(2)} ms per added workload)`);
    previous = { count, sample };
  }
  console.log('(target: 1,000 extra workloads ≤ 1.60× the default deployment)');
  const plain = medianOf(RUNS, () => cliSynthOfBareApp(1000));
  const perPlainWorkload = (plain.seconds - floor.seconds) / 1000 * 1000;
  console.log(`floor plus 1,000 plain cdk8s-plus workloads:       ${fmt(plain)}  (+${perPlainWorkload.toFixed(2)} ms per workload)`);

  const tests = medianOf(TEST_RUNS, () => measure('npm', ['test', '--silent'], {}, 'jest'));
  console.log(`npm test: ${fmt(tests)}  (median of ${TEST_RUNS}; target ≤ 30 s)`);
  console.log(`load average at the end: ${load()}`);
}

main();
