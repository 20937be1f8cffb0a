import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importCycles } from './support/import-cycles';

// A module that imports, even for types alone, a module that imports it back is loaded half-way
// through by whichever is asked for first: lib/ is layered, each module above what it imports.
test('no module of lib/ imports itself through others', () => {
  expect(importCycles(path.join(__dirname, '..', 'lib'))).toEqual([]);
});

test('a cycle of imports, type-only and re-exports among them, is found with every module in it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-cycles-'));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  write('a.ts', "import { b } from './parts/b';\nexport const a = b;\n");
  write('parts/b.ts', "export { c as b } from '../c';\n");
  write('c.ts', "import type { a } from './a';\nexport const c: typeof a = 1;\n");
  write('leaf.ts', "import { c } from './c';\nexport const leaf = c;\n");
  expect(importCycles(dir)).toEqual([['a.ts', 'c.ts', path.join('parts', 'b.ts')]]);
  fs.rmSync(dir, { recursive: true });
});
