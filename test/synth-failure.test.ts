import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { scratchDir } from './support/files';

const REPO = path.resolve(__dirname, '..');
const LIBRARY = JSON.stringify(path.join(REPO, 'lib'));

/** Runs a user's app: the imports, `body`, in a process of its own, as `node app.js` would. */
function runApp(body: string): { status: number | null; stdout: string; stderr: string } {
  const dir = scratchDir();
  const app = path.join(dir, 'app.ts');
  fs.writeFileSync(app, [
    `import { DemoWorkloads, SidecarMode, SpireIstioApp, SpireIstioMesh } from ${LIBRARY};`,
    `const app = new SpireIstioApp({ outdir: ${JSON.stringify(path.join(dir, 'dist'))} });`,
    'const mesh = (props: { trustDomain: string; classic?: boolean }) => {',
    '  const istio = props.classic ? { sidecarMode: SidecarMode.CLASSIC, meshConfig: { defaultConfig: { holdApplicationUntilProxyStarts: true } } } : {};',
    '  const built = new SpireIstioMesh(app, \'Mesh\', { trustDomain: props.trustDomain, clusterName: \'demo\', istio });',
    '  new DemoWorkloads(built.workloads, \'Demo\', { profile: built.profile, identity: built.meshIdentity });',
    '};',
    body,
  ].join('\n'));
  const result = spawnSync(process.execPath, ['--require', path.join(REPO, 'scripts', 'register-typescript.cjs'), app], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a failed synth in a user\'s app that does not catch it', () => {
  test('prints the validation report alone and exits 1', () => {
    const { status, stdout, stderr } = runApp("mesh({ trustDomain: 'Example.org' });\napp.synth();");
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toEqual([
      'Validation failed with the following errors:',
      expect.stringMatching(/^ {2}\[spire\/Server\] trustDomain "Example\.org": a trust domain holds only lowercase .* Fix: /),
      '',
    ]);
  });

  test('prints the wiring check\'s report alone and exits 1', () => {
    const { status, stderr } = runApp("mesh({ trustDomain: 'example.org', classic: true });\napp.synth();");
    expect(status).toBe(1);
    expect(stderr.split('\n')).toEqual([
      'Wiring check failed: the output breaks 1 rule(s) of `cdk8s-spire-istio check`, so nothing was written:',
      expect.stringMatching(/^ {2}\[spire\/Agent\/Config\] 0001-spire\.k8s\.yaml: error: .* Fix: /),
      '',
    ]);
  });
});

describe('what a synth failure leaves to the app', () => {
  test('one it catches is its own, and so is an uncaught one that its uncaughtException listener handles', () => {
    const { status, stdout, stderr } = runApp([
      "mesh({ trustDomain: 'Example.org' });",
      'try { app.synth(); } catch (error) { console.log(`caught: ${(error as Error).message.split(\'\\n\')[0]}`); }',
      "process.on('uncaughtException', (error) => { console.log(`handled: ${error.message.split('\\n')[0]}`); process.exitCode = 3; });",
      'app.synth();',
    ].join('\n'));
    expect({ status, stdout, stderr }).toEqual({
      status: 3,
      stdout: 'caught: Validation failed with the following errors:\nhandled: Validation failed with the following errors:\n',
      stderr: '',
    });
  });
});

describe('a fault of the code, unlike a synth failure', () => {
  test('keeps the stack Node.js prints for it', () => {
    const { status, stderr } = runApp([
      "mesh({ trustDomain: 'example.org' });",
      "app.node.addValidation({ validate: () => { throw new TypeError('a fault in a validation'); } });",
      'app.synth();',
    ].join('\n'));
    expect(status).toBe(1);
    expect(stderr).toContain('TypeError: a fault in a validation');
    expect(stderr).toMatch(/^ {4}at .*spire-istio-app\.ts:\d+:\d+\)?$/m);
  });
});
