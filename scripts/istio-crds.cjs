'use strict';
// Writes the Istio CRDs the library builds objects of, served version v1 only, from Istio's own
// CRD file, for `cdk8s import`. Usage: node istio-crds.cjs <crd-all.gen.yaml> <out.yaml> [--drop-field KIND.FIELD]
// --drop-field removes one spec field of a kind's schema (the conformance suite's must-fail copy).
const fs = require('fs');
const YAML = require('yaml');

/** The CRDs whose classes imports/ holds; adding a kind here adds its classes. */
const CRD_NAMES = [
  'authorizationpolicies.security.istio.io',
  'peerauthentications.security.istio.io',
  'gateways.networking.istio.io',
  'virtualservices.networking.istio.io',
  'serviceentries.networking.istio.io',
  'destinationrules.networking.istio.io',
];
// The library writes only v1 objects; older versions would triple the generated code.
const VERSION = 'v1';

function selectCrds(text) {
  const crds = YAML.parseAllDocuments(text).map((doc) => doc.toJS()).filter((crd) => crd && CRD_NAMES.includes(crd.metadata.name));
  const missing = CRD_NAMES.filter((name) => !crds.some((crd) => crd.metadata.name === name));
  if (missing.length > 0) throw new Error(`not in the CRD file: ${missing.join(', ')}`);
  return crds.map((crd) => ({ ...crd, spec: { ...crd.spec, versions: crd.spec.versions.filter((v) => v.name === VERSION) } }));
}

function dropField(crds, kindField) {
  const [kind, field] = kindField.split('.');
  const crd = crds.find((candidate) => candidate.spec.names.kind === kind);
  const properties = crd?.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  if (!properties || !(field in properties)) throw new Error(`no spec field ${kindField} to drop`);
  delete properties[field];
}

function main([input, output, flag, kindField]) {
  const crds = selectCrds(fs.readFileSync(input, 'utf8'));
  if (flag === '--drop-field') dropField(crds, kindField);
  fs.writeFileSync(output, crds.map((crd) => YAML.stringify(crd)).join('---\n'));
}

main(process.argv.slice(2));
