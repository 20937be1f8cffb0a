import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

// A run's bash asks one pods.js server (e2e/lib/serve.js) instead of starting node for each
// call: what a caller gets must be what the command as a process of its own would give.
const E2E_DIR = path.join(__dirname, '..', '..', 'e2e');
const PODS_JS = path.join(E2E_DIR, 'lib', 'pods.js');

let server: ChildProcess;
let port: number;
let dir: string;

const freePort = () => new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as net.AddressInfo;
    probe.close(() => resolve(free));
  });
});

const listening = (at: number) => new Promise<boolean>((resolve) => {
  const socket = net.connect(at, '127.0.0.1', () => socket.end(() => resolve(true)));
  socket.on('error', () => resolve(false));
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pods-js-serve-'));
  fs.writeFileSync(path.join(dir, 'pods.json'), JSON.stringify({ items: [
    { metadata: { namespace: 'demo', name: 'sleep-1' } },
    { metadata: { namespace: 'demo', name: 'httpbin 2' } },
  ] }));
  fs.writeFileSync(path.join(dir, 'identities.json'), JSON.stringify({ items: [
    { metadata: { name: 'reconciled' }, spec: {}, status: { stats: {} } },
    { metadata: { name: 'left' }, spec: { className: 'other' } },
  ] }));
  port = await freePort();
  server = spawn('node', [PODS_JS, 'serve', String(port), 'https://127.0.0.1:1', '/dev/null', '/dev/null', '/dev/null'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 50));
});

afterAll(() => {
  server.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

// bash SCRIPT: the script run with pods-client.sh sourced, the server's port set or not.
function bash(script: string, throughServer = true) {
  const preamble = `E2E_DIR=${E2E_DIR}; source ${E2E_DIR}/lib/pods-client.sh; ${throughServer ? `PODS_JS_PORT=${port}` : ''}\ncd ${dir}\n`;
  const result = spawnSync('bash', ['-c', preamble + script], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a command gives the same output and status through the server as in a process of its own', () => {
  for (const script of ['pods_js names pods.json', 'pods_js count pods.json', 'pods_js unreconciled identities.json', 'pods_js count missing.json']) {
    expect(bash(script)).toEqual(bash(script, false));
  }
});

test('output lands where the caller sends it, after what the shell wrote there itself', () => {
  const { stdout } = bash('{ echo before; pods_js count pods.json; echo after; } > out.txt; cat out.txt; pods_js names pods.json | wc -l');
  expect(stdout).toBe('before\n2\nafter\n2\n');
});

test('a failing command reports on standard error with its status, and the server answers the next call', () => {
  const failed = bash('pods_js count missing.json; echo "status $?"');
  expect(failed.stdout).toBe('status 1\n');
  expect(failed.stderr).toMatch(/^FAIL: ENOENT: .*missing\.json/);
  const exited = bash('pods_js unreconciled identities.json; echo "status $?"; pods_js count pods.json');
  expect(exited.stdout).toBe('left other\nstatus 0\n2\n');
});

test('arguments keep their spaces and empty strings', () => {
  const facts = JSON.stringify({ trustDomain: 'example.org', spireTemplates: ['spire', 'spire-gateway'], socketPath: '', note: 'two words' });
  const { stdout } = bash(`pods_js facts-lines '${facts}'`);
  expect(stdout).toBe('trustDomain\texample.org\nspireTemplates\tspire,spire-gateway\nsocketPath\t\nnote\ttwo words\n');
});

test('a server that does not listen fails the call, naming the port', () => {
  const { status, stderr } = bash('PODS_JS_PORT=1; pods_js count pods.json');
  expect(status).toBe(2);
  expect(stderr).toContain('not listening on 1');
});
