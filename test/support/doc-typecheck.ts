import * as path from 'path';
import * as ts from 'typescript';
import { DocProgram, REPO } from './doc-blocks';

/**
 * How a user's app compiles: strict, and the package name resolving to this
 * repository's library (its `main` entry, as the package's `types` names it
 * once built).
 */
const USER_APP_OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  baseUrl: REPO,
  paths: { 'cdk8s-spire-istio': ['lib/index.ts'] },
};

/**
 * Type-checks each program as a file of its own in one compilation, and
 * returns, per program, its errors as `file:line: message` with the docs'
 * file and line.
 */
export function typeCheckPrograms(programs: DocProgram[]): string[][] {
  // Scratch files beside the repository's own, so that packages resolve from its node_modules.
  const fileNames = programs.map((_, i) => path.join(REPO, '.doc-blocks', `block-${i}.ts`));
  const sources = new Map(fileNames.map((name, i) => [name, `${programs[i].code}\nexport {};\n`]));
  const host = ts.createCompilerHost(USER_APP_OPTIONS);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (name) => sources.has(name) || ts.sys.fileExists(name);
  host.readFile = (name) => sources.get(name) ?? readFile(name);
  host.getSourceFile = (name, language, onError) => {
    const text = sources.get(name);
    return text === undefined ? getSourceFile(name, language, onError) : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram({ rootNames: fileNames, options: USER_APP_OPTIONS, host });
  const optionErrors = program.getOptionsDiagnostics().map(formatWithoutOrigin);
  if (optionErrors.length) throw new Error(optionErrors.join('\n'));
  return fileNames.map((name, i) => {
    const source = program.getSourceFile(name)!;
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    return diagnostics.map((diagnostic) => {
      const line = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line;
      const origin = programs[i].origins[line] ?? programs[i].origins.at(-1);
      return `${origin}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
  });
}

function formatWithoutOrigin(diagnostic: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
}
