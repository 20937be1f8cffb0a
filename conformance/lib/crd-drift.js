'use strict';
// Compares the CustomResourceDefinitions an output emits with the ones an upstream project ships,
// structurally, and prints every difference by path.
//
//   node crd-drift.js compare OUTPUT_DIR UPSTREAM_CRD_DIR GROUP
//       exit 1 when an emitted CRD of GROUP differs from the upstream one of the same name, or upstream has none
//   node crd-drift.js altered-copy OUTPUT_DIR OUT_DIR GROUP
//       writes the output with one emitted CRD of GROUP deliberately drifted, for the must-fail run
//
// What is compared: everything in the CRD spec a cluster acts on (group, names, scope, each
// version's name/served/storage/subresources/printer columns, and the whole openAPIV3Schema:
// types, properties, required, items, enums, formats, patterns, defaults, x-kubernetes-* keys).
// What is not: `description` (documentation generated from Go comments; it changes neither
// validation nor pruning, and leaving it out keeps the emitted YAML reviewable), and metadata
// besides the name (upstream carries its generator's version annotation). `required` and `enum`
// are compared as sets: their order carries no meaning.
const fs = require('fs');
const path = require('path');
const { YAML, loadDir, loadFile, ofKind, fail, runCommand } = require('./manifests');

const UNORDERED = new Set(['required', 'enum']);
// Maps whose keys are field names, where a field may well be called "description".
const FIELD_MAPS = new Set(['properties', 'patternProperties']);

function normalize(node, key) {
  if (Array.isArray(node)) {
    const items = node.map((item) => normalize(item));
    return UNORDERED.has(key) ? [...items].sort() : items;
  }
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const k of Object.keys(node).sort()) {
    if (k === 'description' && !FIELD_MAPS.has(key)) continue;
    out[k] = normalize(node[k], FIELD_MAPS.has(key) ? undefined : k);
  }
  return out;
}

// The parts of a CRD that the comparison covers, normalized.
function comparable(crd) {
  const { group, names, scope, versions } = crd.spec;
  return normalize({ group, names, scope, versions });
}

function label(value) {
  return value === undefined ? '<absent>' : JSON.stringify(value);
}

// Every path where the two trees differ, as "path: emitted X, upstream Y".
function differences(emitted, upstream, at, out) {
  const bothObjects = [emitted, upstream].every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
  const bothArrays = Array.isArray(emitted) && Array.isArray(upstream);
  if (bothObjects) {
    const keys = [...new Set([...Object.keys(emitted), ...Object.keys(upstream)])].sort();
    for (const k of keys) differences(emitted[k], upstream[k], `${at}.${k}`, out);
  } else if (bothArrays && emitted.length === upstream.length) {
    emitted.forEach((item, i) => differences(item, upstream[i], `${at}[${i}]`, out));
  } else if (JSON.stringify(emitted) !== JSON.stringify(upstream)) {
    out.push(`${at}: emitted ${label(emitted)}, upstream ${label(upstream)}`);
  }
  return out;
}

function emittedCrds(dir, group) {
  return ofKind(loadDir(dir), 'CustomResourceDefinition', 'apiextensions.k8s.io')
    .map((entry) => entry.obj)
    .filter((crd) => crd.spec && crd.spec.group === group);
}

function upstreamCrds(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const byName = new Map();
  for (const file of files) {
    for (const { obj } of loadFile(path.join(dir, file))) {
      if (obj.kind === 'CustomResourceDefinition') byName.set(obj.metadata.name, { crd: obj, file });
    }
  }
  return byName;
}

function compare(outputDir, upstreamDir, group) {
  const emitted = emittedCrds(outputDir, group);
  if (emitted.length === 0) {
    console.log(`note: the output emits no ${group} CRD (installed by another tool); nothing to compare`);
    return;
  }
  const upstream = upstreamCrds(upstreamDir);
  let drifted = 0;
  for (const crd of emitted) {
    const name = crd.metadata.name;
    const match = upstream.get(name);
    if (!match) {
      console.log(`DRIFT: ${name}: upstream ships no CRD of that name (it has ${[...upstream.keys()].join(', ')})`);
      drifted++;
      continue;
    }
    const found = differences(comparable(crd), comparable(match.crd), 'spec', []);
    const properties = countProperties(crd);
    if (found.length === 0) {
      console.log(`ok: ${name} matches upstream ${match.file} (${properties} schema properties, descriptions aside)`);
    } else {
      console.log(`DRIFT: ${name} differs from upstream ${match.file} in ${found.length} place(s):`);
      for (const line of found) console.log(`    ${line}`);
      drifted++;
    }
  }
  const notEmitted = [...upstream.keys()].filter((name) => !emitted.some((crd) => crd.metadata.name === name));
  if (notEmitted.length > 0) console.log(`note: upstream CRDs the output does not emit: ${notEmitted.join(', ')}`);
  if (drifted > 0) fail(`${drifted} of ${emitted.length} emitted ${group} CRDs drifted from upstream`);
}

function countProperties(node) {
  if (Array.isArray(node)) return node.reduce((n, item) => n + countProperties(item), 0);
  if (node === null || typeof node !== 'object') return 0;
  const own = node.properties && typeof node.properties === 'object' ? Object.keys(node.properties).length : 0;
  return own + Object.values(node).reduce((n, value) => n + countProperties(value), 0);
}

// Drops `required` from the first emitted CRD's spec schema: a change no other check would notice,
// since every object the output creates still validates.
function alteredCopy(outputDir, outDir, group) {
  fs.mkdirSync(outDir, { recursive: true });
  let altered;
  for (const file of fs.readdirSync(outputDir).filter((f) => f.endsWith('.k8s.yaml')).sort()) {
    const docs = loadFile(path.join(outputDir, file)).map(({ obj }) => {
      const isTarget = !altered && obj.kind === 'CustomResourceDefinition' && obj.spec.group === group;
      if (!isTarget) return obj;
      const spec = obj.spec.versions[0].schema.openAPIV3Schema.properties.spec;
      if (!spec.required) return obj;
      altered = `${obj.metadata.name}: dropped spec.required ${JSON.stringify(spec.required)}`;
      delete spec.required;
      return obj;
    });
    fs.writeFileSync(path.join(outDir, file), docs.map((doc) => YAML.stringify(doc, { lineWidth: 0 })).join('---\n'));
  }
  if (!altered) fail(`no emitted ${group} CRD has a spec with required fields to drop`);
  console.log(`altered copy: ${altered}`);
}

runCommand({ compare, 'altered-copy': alteredCopy });
