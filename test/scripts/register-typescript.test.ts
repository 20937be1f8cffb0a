import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { scratchDir } from '../support/files';

const HOOK = path.join(__dirname, '..', '..', 'scripts', 'register-typescript.cjs');

/** Runs `entry` as `npm run synth` runs main.ts. */
function run(entry: string) {
  const result = spawnSync(process.execPath, ['--require', HOOK, entry], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

function project(files: Record<string, string>): string {
  const dir = scratchDir();
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test('runs a TypeScript entry point and the TypeScript modules it imports', () => {
  const dir = project({
    'main.ts': "import * as path from 'path';\nimport { answer } from './answer';\nconsole.log(`${path.basename(__filename)} ${answer(41)}`);\n",
    'answer.ts': 'export function answer(n: number): number {\n  return n + 1;\n}\n',
  });
  expect(run(path.join(dir, 'main.ts'))).toEqual({ status: 0, stdout: 'main.ts 42', stderr: '' });
});

test('a changed module runs as changed, not as it was compiled before', () => {
  const dir = project({ 'main.ts': "import { word } from './word';\nconsole.log(word);\n", 'word.ts': "export const word: string = 'before';\n" });
  expect(run(path.join(dir, 'main.ts')).stdout).toBe('before');
  fs.writeFileSync(path.join(dir, 'word.ts'), "export const word: string = 'after';\n");
  expect(run(path.join(dir, 'main.ts')).stdout).toBe('after');
});

test('a module that does not compile fails with its file and line', () => {
  const dir = project({ 'main.ts': 'const broken: number = ;\n' });
  const result = run(path.join(dir, 'main.ts'));
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain(`${path.join(dir, 'main.ts')}:1:`);
});
