'use strict';
// Reading and writing the synthesized multi-document YAML.
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

function parseDocuments(text, origin) {
  const objects = [];
  YAML.parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${origin}: document ${index + 1}: ${doc.errors[0].message}`);
    }
    const obj = doc.toJS({ maxAliasCount: -1 });
    if (obj !== null && obj !== undefined) objects.push({ file: origin, index, obj });
  });
  return objects;
}

function loadFile(file) {
  return parseDocuments(fs.readFileSync(file, 'utf8'), file);
}

// The synthesized files, in lexical (= apply) order.
function manifestFiles(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  if (files.length === 0) throw new Error(`no *.k8s.yaml files in ${dir}`);
  return files.map((f) => path.join(dir, f));
}

function loadDir(dir) {
  return manifestFiles(dir).flatMap(loadFile);
}

function ofKind(entries, kind, group) {
  return entries.filter(
    ({ obj }) => obj.kind === kind && (group === undefined || String(obj.apiVersion).split('/')[0] === group),
  );
}

function describe({ obj }) {
  const ns = obj.metadata && obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.kind} ${ns}${obj.metadata && obj.metadata.name}`;
}

function writeYaml(file, obj) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, YAML.stringify(obj, { lineWidth: 0 }));
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

// Runs the command named by the first argument of a `node <script> <command> <args...>` call.
function runCommand(commands) {
  const [command, ...args] = process.argv.slice(2);
  if (!commands[command]) fail(`unknown command ${command}; one of ${Object.keys(commands).join(', ')}`);
  try {
    commands[command](...args);
  } catch (e) {
    fail(e.message);
  }
}

module.exports = { YAML, loadFile, loadDir, manifestFiles, ofKind, describe, writeYaml, fail, runCommand };
