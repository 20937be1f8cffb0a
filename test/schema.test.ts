import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import * as YAML from 'yaml';
import { objectsOf, synthDeployment } from './support/synth';

const { dir, objects } = synthDeployment();
const manifests = fs.readdirSync(dir).filter((file) => file.endsWith('.k8s.yaml')).map((file) => path.join(dir, file));

function validateBuiltIns(files: string[]): { validated: number; problems: string[] } {
  const script = path.join(__dirname, 'support', 'validate-kube-schemas.ts');
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  return JSON.parse(execFileSync(tsx, [script, ...files], { encoding: 'utf8' }));
}

describe('Kubernetes objects against the current Kubernetes OpenAPI schemas', () => {
  test('every built-in object is valid', () => {
    const result = validateBuiltIns(manifests);
    expect(result.problems).toEqual([]);
    expect(result.validated).toBe(objects.filter(({ doc }) => !/^(spire\.spiffe\.io|install\.istio\.io|networking\.istio\.io|security\.istio\.io)\//.test(String(doc.apiVersion))).length);
  });

  test('an invalid object is reported', () => {
    const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'schema-')), 'broken.yaml');
    fs.writeFileSync(broken, YAML.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 'eighty' }] } }));
    expect(validateBuiltIns([broken]).problems).toEqual([expect.stringContaining('Service s')]);
  });
});

/**
 * A CRD's structural schema as JSON Schema, rejecting unknown fields the way
 * the API server does under strict field validation (kubectl's default).
 */
function strictSchema(schema: any): any {
  if (typeof schema !== 'object' || schema === null) return schema;
  if (Array.isArray(schema)) return schema.map(strictSchema);
  const result: any = Object.fromEntries(Object.entries(schema)
    .filter(([key]) => !key.startsWith('x-kubernetes-'))
    .map(([key, value]) => [key, key === 'properties'
      ? Object.fromEntries(Object.entries(value as object).map(([name, property]) => [name, strictSchema(property)]))
      : strictSchema(value)]));
  if (schema.properties && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
    result.additionalProperties = false;
  }
  return result;
}

describe('spire.spiffe.io objects against the project\'s own CRDs, unknown fields rejected', () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validators = new Map(objectsOf(objects, 'CustomResourceDefinition').map((crd) =>
    [crd.spec.names.kind, ajv.compile(strictSchema(crd.spec.versions[0].schema.openAPIV3Schema))]));
  const validate = (object: any) => {
    const validator = validators.get(object.kind)!;
    return validator(object) ? [] : validator.errors!.map((error) => `${error.instancePath} ${error.message}`);
  };
  const spireObjects = objects.filter(({ doc }) => String(doc.apiVersion).startsWith('spire.spiffe.io/')).map(({ doc }) => doc);

  test('the three CRDs are served and stored at v1alpha1', () => {
    expect([...validators.keys()].sort()).toEqual(['ClusterFederatedTrustDomain', 'ClusterSPIFFEID', 'ClusterStaticEntry']);
  });

  test('every spire.spiffe.io object in the output is valid', () => {
    expect(spireObjects.length).toBeGreaterThan(0);
    for (const object of spireObjects) expect(validate(object)).toEqual([]);
  });

  test('a misspelt field and a missing required field are rejected', () => {
    const identity = structuredClone(spireObjects[0]);
    identity.spec.spiffeIdTemplate = identity.spec.spiffeIDTemplate;
    delete identity.spec.spiffeIDTemplate;
    expect(validate(identity)).toEqual(expect.arrayContaining([
      '/spec must NOT have additional properties',
      '/spec must have required property \'spiffeIDTemplate\'',
    ]));
  });
});
