import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadManifests, ManifestObject } from '../../lib/check/manifests';
import { buildDefaultDeployment, DefaultDeployment } from '../../lib/charts/default-deployment';
import { DefaultSettings, settingsFromEnvironment } from '../../lib/charts/default-settings';
import { SpireIstioApp } from '../../lib/constructs/spire-istio-app';

export const DEFAULT_SETTINGS: DefaultSettings = settingsFromEnvironment({});

export interface Synthesized {
  readonly deployment: DefaultDeployment;
  readonly dir: string;
  readonly objects: ManifestObject[];
}

/**
 * Synthesizes the default deployment into a fresh directory and reads it back
 * as kubectl would; the wiring report only when asked, for its time.
 */
export function synthDeployment(settings: Partial<DefaultSettings> = {}, wiringReport = false): Synthesized {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-spire-istio-'));
  const app = new SpireIstioApp({ outdir: dir, wiringReport });
  const deployment = buildDefaultDeployment(app, { ...DEFAULT_SETTINGS, ...settings });
  app.synth();
  return { deployment, dir, objects: loadManifests([dir]) };
}

/** Objects of one kind, optionally with one name. */
export function objectsOf(objects: ManifestObject[], kind: string, name?: string): any[] {
  return objects.map(({ doc }) => doc).filter((doc) => doc.kind === kind && (name === undefined || doc.metadata?.name === name));
}

export function onlyObject(objects: ManifestObject[], kind: string, name?: string): any {
  const found = objectsOf(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0];
}

/** A deep copy of the objects, for breaking one rule without touching the others. */
export function cloneObjects(objects: ManifestObject[]): ManifestObject[] {
  return objects.map(({ file, doc }) => ({ file, doc: structuredClone(doc) }));
}
