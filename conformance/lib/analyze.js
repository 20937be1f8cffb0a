'use strict';
// Judges `istioctl analyze -o json` output and prepares the must-fail copy for it.
// Usage: node analyze.js <command> <args...>; see the commands table at the bottom.
const fs = require('fs');
const path = require('path');
const EXPLAINED = require('./analyze-explained');
const { loadDir, manifestFiles, ofKind, describe, fail, runCommand, YAML } = require('./manifests');

function readMessages(file) {
  const text = fs.readFileSync(file, 'utf8').trim();
  try {
    return JSON.parse(text === '' ? '[]' : text);
  } catch (e) {
    fail(`istioctl analyze did not print JSON (${e.message}):\n${text}`);
  }
}

function explanation(message) {
  return EXPLAINED.find((entry) => entry.code === message.code && entry.origin === message.origin);
}

function line(message) {
  return `${message.level} [${message.code}] (${message.origin}${message.reference ? ` ${message.reference}` : ''}) ${message.message}`;
}

// Fails on every error and on every warning not explained; shows info messages.
function judge(jsonFile) {
  const messages = readMessages(jsonFile);
  const unexplained = [];
  for (const message of messages) {
    const explained = message.level === 'Warning' ? explanation(message) : undefined;
    if (message.level === 'Info') console.log(`  info: ${line(message)}`);
    else if (explained) console.log(`  explained: ${line(message)}: ${explained.reason}`);
    else unexplained.push(message);
  }
  if (unexplained.length > 0) fail(`istioctl analyze reported:\n  ${unexplained.map(line).join('\n  ')}`);
  const count = (level) => messages.filter((m) => m.level === level).length;
  console.log(`ok: istioctl analyze: 0 errors, ${count('Warning')} explained warnings, ${count('Info')} info`);
}

// Passes only when analyze reported at least one error.
function expectRejected(jsonFile) {
  const errors = readMessages(jsonFile).filter((m) => m.level === 'Error');
  if (errors.length === 0) fail('istioctl analyze accepted the deliberately broken copy');
  console.log(`ok: istioctl analyze rejects the deliberately broken copy: ${line(errors[0])}`);
}

// A copy of the output whose first Gateway-bound VirtualService names a Gateway that does not
// exist; no copy when the output routes nothing through a Gateway.
function brokenRoute(dir, outDir) {
  const all = loadDir(dir);
  const route = ofKind(all, 'VirtualService', 'networking.istio.io').find(({ obj }) => (obj.spec.gateways || []).length > 0);
  if (!route) return;
  const missing = `${route.obj.spec.gateways[0]}-missing`;
  route.obj.spec.gateways = [missing];
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of manifestFiles(dir)) {
    const objects = all.filter((e) => e.file === file).map((e) => YAML.stringify(e.obj, { lineWidth: 0 }));
    fs.writeFileSync(path.join(outDir, path.basename(file)), objects.join('---\n'));
  }
  console.log(`${describe(route)} now routes through the Gateway ${missing}`);
}

runCommand({ judge, 'expect-rejected': expectRejected, 'broken-route': brokenRoute });
