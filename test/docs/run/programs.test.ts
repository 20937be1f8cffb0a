import * as fs from 'fs';
import { blocksOf, docBlocks, programsOf } from '../../support/doc-blocks';
import { RUN_DIR, runTypeScriptProgram } from '../../support/doc-run';

// Kept out of `npm test` for its time (a process per program): `npm run test:docs`, which CI runs.
const TYPESCRIPT = ['ts', 'typescript'];
const LAST_OF_EACH_CHAIN = programsOf(docBlocks(), TYPESCRIPT).filter((program) => !program.continuedBelow);

// The directories of programs that moved or went, from earlier runs.
beforeAll(() => fs.rmSync(RUN_DIR, { recursive: true, force: true }));

describe('the TypeScript programs of the README and docs/', () => {
  test.each(LAST_OF_EACH_CHAIN.map((program) => [`${program.block.file}:${program.block.line}`, program] as const))(
    '%s runs and synthesizes', (_, program) => {
      expect(runTypeScriptProgram(program)).toEqual([]);
    }, 60_000);
});

describe('running the programs', () => {
  test('a program that never synthesizes fails, naming the file and line', () => {
    const [program] = programsOf(blocksOf('docs/sample.md', "```ts\nimport { SpireIstioApp } from 'cdk8s-spire-istio';\nnew SpireIstioApp();\n```"), TYPESCRIPT);
    expect(runTypeScriptProgram(program)).toEqual(['docs/sample.md:1: ran but wrote no manifest: does it call app.synth()?']);
  }, 60_000);

  test('a program the synth refuses fails with the synth\'s report', () => {
    const code = "```ts\nimport { SpireIstioApp, SpireIstioMesh } from 'cdk8s-spire-istio';\nconst app = new SpireIstioApp();\nnew SpireIstioMesh(app, 'Mesh', { trustDomain: 'Not A Domain', clusterName: 'prod' });\napp.synth();\n```";
    const [program] = programsOf(blocksOf('docs/sample.md', code), TYPESCRIPT);
    expect(runTypeScriptProgram(program)).toEqual([expect.stringMatching(/^docs\/sample\.md:1: exited 1: .*Not A Domain/s)]);
  }, 60_000);
});
