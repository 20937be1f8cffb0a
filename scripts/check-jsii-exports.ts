// jsii compiles classes, enums, interfaces and structs into the assembly other
// languages are generated from; an exported function or constant is left out
// without a diagnostic. Every runtime export must therefore name an assembly type.
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

function assemblyTypeNames(): Set<string> {
  const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf8'));
  return new Set(Object.values(assembly.types as Record<string, { name: string }>).map((type) => type.name));
}

function runtimeExportNames(): string[] {
  const entry = path.join(ROOT, require(path.join(ROOT, 'package.json')).main);
  return Object.keys(require(entry)).sort();
}

const inAssembly = assemblyTypeNames();
const dropped = runtimeExportNames().filter((name) => !inAssembly.has(name));
if (dropped.length > 0) {
  console.error(`jsii leaves these exports out of the other languages: ${dropped.join(', ')}.`);
  console.error('Fix: make them static members of an exported class, or stop exporting them.');
  process.exitCode = 1;
} else {
  console.log(`jsii exports: all ${inAssembly.size} public types reach the other languages`);
}
