import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** The TypeScript files under a directory, declaration files aside. */
function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** The files under `dir` a file imports or re-exports from, type-only imports included. */
function importsOf(file: string, dir: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.flatMap((statement) => {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) return [];
    const specifier = statement.moduleSpecifier;
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return [];
    const target = path.resolve(path.dirname(file), specifier.text);
    return [`${target}.ts`, path.join(target, 'index.ts')].filter((candidate) => candidate.startsWith(`${dir}${path.sep}`) && fs.existsSync(candidate)).slice(0, 1);
  });
}

/**
 * The import cycles among the TypeScript files under a directory, each as the
 * files of one strongly connected component of the import graph (Tarjan),
 * relative to the directory.
 */
export function importCycles(dir: string): string[][] {
  const root = path.resolve(dir);
  const graph = new Map(sourceFiles(root).map((file) => [file, importsOf(file, root)]));
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    lowLink.set(file, index.get(file)!);
    stack.push(file);
    for (const imported of graph.get(file) ?? []) {
      if (!index.has(imported)) {
        visit(imported);
        lowLink.set(file, Math.min(lowLink.get(file)!, lowLink.get(imported)!));
      } else if (stack.includes(imported)) {
        lowLink.set(file, Math.min(lowLink.get(file)!, index.get(imported)!));
      }
    }
    if (lowLink.get(file) !== index.get(file)) return;
    const component = stack.splice(stack.indexOf(file));
    if (component.length > 1 || graph.get(file)!.includes(file)) cycles.push(component.map((member) => path.relative(root, member)).sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}
