import * as path from 'path';
import * as ts from 'typescript';
import { REPO } from './doc-blocks';

/**
 * The public API as members by type name: the props of exported interfaces,
 * the properties and static members of exported classes and the members of
 * exported enums, read with the TypeScript checker from lib/index.ts (what
 * jsii exports), so that no assembly has to be built first.
 */
export function publicApiMembers(): Map<string, Set<string>> {
  const entry = path.join(REPO, 'lib', 'index.ts');
  const program = ts.createProgram([entry], { strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const api = new Map<string, Set<string>>();
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    api.set(exported.name, membersOf(checker, symbol));
  }
  return api;
}

function membersOf(checker: ts.TypeChecker, symbol: ts.Symbol): Set<string> {
  const names = new Set<string>();
  if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) {
    checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)).forEach((member) => names.add(member.name));
  }
  const declaration = symbol.declarations?.[0];
  if (declaration !== undefined && symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Enum)) {
    checker.getPropertiesOfType(checker.getTypeOfSymbolAtLocation(symbol, declaration)).forEach((member) => names.add(member.name));
  }
  return names;
}
