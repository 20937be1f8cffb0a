/**
 * Validates Kubernetes objects against the OpenAPI schemas of kubernetes-models
 * (current Kubernetes). kubernetes-models is ESM-only, so the tests run this
 * file as its own process: `tsx validate-kube-schemas.ts <file>...` prints a
 * JSON list of problems.
 */
import { loadManifests } from '../../lib/check/manifests';

interface ValidatableModel {
  validate(): void;
}

// Objects that are not applied to the cluster, or whose schemas come from CRDs.
const NOT_BUILT_IN = new Set(['install.istio.io', 'networking.istio.io', 'security.istio.io', 'spire.spiffe.io']);

async function modelClass(apiVersion: string, kind: string): Promise<new (data: unknown) => ValidatableModel> {
  const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
  return module[kind] ?? module.default;
}

async function main(files: string[]): Promise<void> {
  const problems: string[] = [];
  let validated = 0;
  for (const { file, doc } of loadManifests(files)) {
    const apiVersion = String(doc.apiVersion);
    if (NOT_BUILT_IN.has(apiVersion.split('/')[0])) continue;
    try {
      const Model = await modelClass(apiVersion, String(doc.kind));
      new Model(doc).validate();
      validated++;
    } catch (error) {
      problems.push(`${file}: ${doc.kind} ${doc.metadata?.name}: ${(error as Error).message}`);
    }
  }
  process.stdout.write(JSON.stringify({ validated, problems }));
}

void main(process.argv.slice(2));
