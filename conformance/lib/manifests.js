'use strict';
// Reading and writing the synthesized multi-document YAML, and the SPIRE configs it carries.
const fs = require('fs');
const path = require('path');
// Loaded on first use: many callers are short-lived processes that never parse YAML.
let yamlModule;
const yaml = () => yamlModule || (yamlModule = require('yaml'));

function parseDocuments(text, origin) {
  const objects = [];
  yaml().parseAllDocuments(text).forEach((doc, index) => {
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
  fs.writeFileSync(file, yaml().stringify(obj, { lineWidth: 0 }));
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

function exactlyOne(entries, what) {
  if (entries.length !== 1) {
    fail(`expected exactly one ${what}, found ${entries.length}${entries.length ? `: ${entries.map(describe).join(', ')}` : ''}`);
  }
  return entries[0];
}

// The one ConfigMap of the objects that holds the data key FILE (server.conf, agent.conf, ...).
function configMapWith(all, file) {
  return exactlyOne(ofKind(all, 'ConfigMap', 'v1').filter(({ obj }) => obj.data && file in obj.data), `ConfigMap with ${file}`);
}

// HCL's JSON form allows a block to be an object or a one-element array of objects.
function hclBlock(value) {
  return Array.isArray(value) ? value[0] : value;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return fail(`${file} is not JSON: ${e.message}`);
  }
}

function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

module.exports = {
  get YAML() { return yaml(); },
  loadFile, loadDir, manifestFiles, ofKind, describe, writeYaml, fail, runCommand,
  exactlyOne, configMapWith, hclBlock, readJson, writeJson,
};
