import * as YAML from 'yaml';
import { blocksOf, CONTINUES_MARKER, DocProgram, docBlocks, programsOf } from '../support/doc-blocks';
import { typeCheckPrograms } from '../support/doc-typecheck';

const TYPESCRIPT = ['ts', 'typescript'];
const BLOCKS = docBlocks();
const PROGRAMS = programsOf(BLOCKS, TYPESCRIPT);

// Checked in the same compilation as the docs, so that they prove the checks can fail.
const SAMPLE = [
  '# Sample',
  '',
  '```ts',
  "import { SpireIstioApp, SpireIstioMesh } from 'cdk8s-spire-istio';",
  'const app = new SpireIstioApp();',
  '```',
  '',
  CONTINUES_MARKER,
  '```ts',
  "const mesh = new SpireIstioMesh(app, 'Mesh', { trustDomain: 'corp.example', clusterName: 'prod' });",
  '```',
  '',
  '```ts',
  "new IngressHttpRoute(mesh.workloads, 'Route', { gateway, backend: cart, hosts: ['shop.example.org'] });",
  '```',
  '',
  '```typescript',
  "import { NoSuchConstruct } from 'cdk8s-spire-istio';",
  "new NoSuchConstruct('x');",
  '```',
].join('\n');
const SAMPLE_PROGRAMS = programsOf(blocksOf('docs/sample.md', SAMPLE), TYPESCRIPT);

const ERRORS = typeCheckPrograms([...PROGRAMS, ...SAMPLE_PROGRAMS]);
const errorsOf = (program: DocProgram): string[] => ERRORS[[...PROGRAMS, ...SAMPLE_PROGRAMS].indexOf(program)];

describe('the code blocks of the README and docs/', () => {
  test('the docs have TypeScript blocks to check', () => {
    expect(PROGRAMS.length).toBeGreaterThan(5);
  });

  test.each(PROGRAMS.map((program) => [`${program.block.file}:${program.block.line}`, program] as const))(
    '%s type-checks strictly as a file of an app that imports cdk8s-spire-istio', (_, program) => {
      expect(errorsOf(program)).toEqual([]);
    });

  test('every Python block is a whole program or marked as continuing the one above', () => {
    expect(() => programsOf(BLOCKS, ['python'])).not.toThrow();
  });

  test.each(BLOCKS.filter((block) => block.language === 'yaml').map((block) => [`${block.file}:${block.line}`, block] as const))(
    '%s parses as YAML', (_, block) => {
      expect(YAML.parseAllDocuments(block.code).flatMap((document) => document.errors.map((error) => error.message))).toEqual([]);
    });
});

describe('the checks of the code blocks', () => {
  test('a block continuing the one above is checked with it, and a whole block alone', () => {
    expect(SAMPLE_PROGRAMS.map((program) => program.code.split('\n').length)).toEqual([2, 3, 1, 2]);
    expect(errorsOf(SAMPLE_PROGRAMS[0])).toEqual([]);
    expect(errorsOf(SAMPLE_PROGRAMS[1])).toEqual([]);
  });

  test('a name no block defines fails, naming the file and the line', () => {
    expect(errorsOf(SAMPLE_PROGRAMS[2])).toEqual(expect.arrayContaining([
      "docs/sample.md:14: Cannot find name 'IngressHttpRoute'.",
      "docs/sample.md:14: Cannot find name 'mesh'.",
      expect.stringMatching(/^docs\/sample\.md:14: No value exists in scope for the shorthand property 'gateway'/),
    ]));
  });

  test('a name the library does not export fails', () => {
    expect(errorsOf(SAMPLE_PROGRAMS[3])).toEqual([expect.stringMatching(/^docs\/sample\.md:18: Module '"cdk8s-spire-istio"' has no exported member 'NoSuchConstruct'/)]);
  });

  test('a continuation without a block above, and a fragment marker of another wording, are refused with file and line', () => {
    const orphan = ['Text.', CONTINUES_MARKER, '```ts', 'mesh;', '```'].join('\n');
    expect(() => programsOf(blocksOf('docs/a.md', orphan), TYPESCRIPT)).toThrow('docs/a.md:3: marked as continuing the block above, but no ts/typescript block comes before it');
    const unknown = ['<!-- fragment: skip this one -->', '```python', 'mesh', '```'].join('\n');
    expect(() => programsOf(blocksOf('docs/b.md', unknown), ['python'])).toThrow('docs/b.md:2: unknown marker <!-- fragment: skip this one -->');
  });

  test('a block that is never closed is refused with file and line', () => {
    expect(() => blocksOf('docs/c.md', 'Text.\n```ts\nconst x = 1;\n')).toThrow('docs/c.md:2: a code block that is never closed');
  });
});
