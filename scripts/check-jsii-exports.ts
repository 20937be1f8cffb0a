// jsii compiles classes, enums, interfaces and structs into the assembly other
// languages are generated from; an exported function or constant is left out
// without a diagnostic. Every runtime export must therefore name an assembly type.
// The API also names no type of a regular dependency: the app does not choose
// that module's version, so its types would not match the app's own.
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const PACKAGE = require(path.join(ROOT, 'package.json'));
const ASSEMBLY = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf8'));

function assemblyTypeNames(): Set<string> {
  return new Set(Object.values(ASSEMBLY.types as Record<string, { name: string }>).map((type) => type.name));
}

function runtimeExportNames(): string[] {
  const entry = path.join(ROOT, PACKAGE.main);
  return Object.keys(require(entry)).sort();
}

interface AssemblyMember { readonly name?: string }
interface AssemblyType { readonly name: string; readonly properties?: AssemblyMember[]; readonly methods?: AssemblyMember[]; readonly initializer?: object }

/** The fully qualified type names anywhere under an assembly node. */
function typeNamesIn(node: unknown): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const own = typeof (node as { fqn?: unknown }).fqn === 'string' ? [(node as { fqn: string }).fqn] : [];
  return [...own, ...Object.values(node).flatMap(typeNamesIn)];
}

/** Where the API names a type of a module that is a dependency but no peer dependency, as "Type.member: module.Type". */
function internalTypeUses(): string[] {
  const internal = Object.keys(PACKAGE.dependencies ?? {}).filter((name) => !(name in (PACKAGE.peerDependencies ?? {})));
  return Object.values(ASSEMBLY.types as Record<string, AssemblyType>).flatMap((type) => [
    ...(type.properties ?? []).map((member): [string, unknown] => [`${type.name}.${member.name}`, member]),
    ...(type.methods ?? []).map((member): [string, unknown] => [`${type.name}.${member.name}()`, member]),
    [`new ${type.name}()`, type.initializer],
  ]).flatMap(([where, member]) => typeNamesIn(member)
    .filter((fqn) => internal.includes(fqn.split('.')[0]))
    .map((fqn) => `${where}: ${fqn}`));
}

const inAssembly = assemblyTypeNames();
const dropped = runtimeExportNames().filter((name) => !inAssembly.has(name));
const leaked = internalTypeUses();
if (dropped.length > 0) {
  console.error(`jsii leaves these exports out of the other languages: ${dropped.join(', ')}.`);
  console.error('Fix: make them static members of an exported class, or stop exporting them.');
  process.exitCode = 1;
}
if (leaked.length > 0) {
  console.error(`the API names types of dependencies the app does not choose the version of: ${leaked.join('; ')}.`);
  console.error('Fix: take and return cdk8s types or types of this library, and keep the dependency\'s objects private.');
  process.exitCode = 1;
}
if (process.exitCode !== 1) {
  console.log(`jsii exports: all ${inAssembly.size} public types reach the other languages, none names a type of a dependency the app does not choose`);
}
