import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, AppProps, Chart, Yaml } from 'cdk8s';
import { IConstruct } from 'constructs';
import { describe, istiodValuesObject, ISTIOD_HELM_VALUES, ManifestObject } from '../check/manifests';
import { Finding } from '../check/rules';
import { assertWiring } from '../check/synth-wiring';
import { WIRING_REPORT_FILE, wiringReport } from '../check/wiring-report';
import { omitServerNormalisedFields } from '../kube/server-normal-form';
import { synthFailure } from '../validation/synth-failure';
import { synthOnceValidated } from '../validation/validate';
import { IstioSpireProfile } from './istio-spire-profile';
import { brandSpireIstioApp, isSpireIstioApp } from './spire-istio-app/brand';

/** One manifest file cdk8s would write, and its objects. */
interface Manifest {
  readonly file: string;
  readonly docs: any[];
}

export interface SpireIstioAppProps extends AppProps {
  /** Write `WIRING.md`, the wiring report, next to the manifests. @default true */
  readonly wiringReport?: boolean;
}

/**
 * A cdk8s App that writes, besides the manifests, what SPIRE + Istio needs
 * outside Kubernetes objects: the istiod Helm values of every
 * IstioSpireProfile, for users who install istiod with Helm, and `WIRING.md`,
 * a report for reviewers of how the written objects wire SPIRE to Istio.
 *
 * Its synth runs the wiring rules of `cdk8s-spire-istio check` over what it
 * is about to write and writes nothing when one finds an error. It replaces
 * the output directory whole, and only once everything was written: a synth
 * that fails leaves the last good output as it was.
 */
export class SpireIstioApp extends App {
  /** Whether a construct is a SpireIstioApp (also across copies of this library). */
  public static isSpireIstioApp(construct: IConstruct): boolean {
    return isSpireIstioApp(construct);
  }

  /** Whether synth writes `WIRING.md` next to the manifests. */
  public readonly writesWiringReport: boolean;

  constructor(props: SpireIstioAppProps = {}) {
    super(props);
    this.writesWiringReport = props.wiringReport ?? true;
    brandSpireIstioApp(this);
  }

  /**
   * Checks the wiring of the manifests and each profile's Helm values, writes
   * them and the wiring report into a staging directory next to `outdir`,
   * then swaps it into place.
   */
  public synth(): void {
    const target = path.resolve(this.outdir);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // A private scratch directory on the same filesystem, so the swap is a rename.
    const scratch = fs.mkdtempSync(path.join(path.dirname(target), `.${path.basename(target)}.synth-`));
    try {
      const staging = path.join(scratch, 'next');
      fs.mkdirSync(staging);
      this.synthInto(staging);
      replaceDirectory(target, staging, path.join(scratch, 'previous'));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  private synthInto(dir: string): void {
    // App.synth writes into `outdir`; pointing it at the staging directory for
    // the duration is the one way to reuse its file layout and naming.
    const writable = this as unknown as { outdir: string };
    const outdir = this.outdir;
    writable.outdir = dir;
    try {
      omitServerNormalisedFields(this);
      let manifests: Manifest[] = [];
      synthOnceValidated(this, () => {
        this.assertValid();
        manifests = this.synthWithoutWriting();
      });
      const written = manifests.flatMap(({ file, docs }) => docs.map((doc) => ({ file: path.relative(dir, file), doc })))
        .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      this.checkEveryObjectRecorded(written.length);
      const output = [...written, ...this.helmValuesObjects()];
      const warnings = assertWiring(output, (finding) => this.constructOf(finding));
      if (warnings.length > 0) {
        process.stderr.write(`Wiring check: ${warnings.length} warning(s) of \`cdk8s-spire-istio check\`; the output is written:\n  ${warnings.join('\n  ')}\n`);
      }
      for (const { file, docs } of manifests) Yaml.save(file, docs);
      this.writeHelmValues(dir);
      if (this.writesWiringReport) fs.writeFileSync(path.join(dir, WIRING_REPORT_FILE), wiringReport(output));
    } finally {
      writable.outdir = outdir;
    }
  }

  /**
   * The validation cdk8s runs first in its synth, with the same report, but thrown as a synth
   * failure: an uncaught one prints the report without the stack of cdk8s's frames. cdk8s then
   * finds the app valid, from the messages computed here.
   */
  private assertValid(): void {
    const errors = this.node.findAll().flatMap((construct) => construct.node.validate().map((message) => `[${construct.node.path}] ${message}`));
    if (errors.length > 0) throw synthFailure(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
  }

  /**
   * cdk8s's synth with the manifests it would write held back, so that the
   * wiring rules see them first. They are the objects the rules and the
   * report read; rendering the charts again or parsing the files would be
   * most of the time a large synth spends on them.
   */
  private synthWithoutWriting(): Manifest[] {
    const manifests: Manifest[] = [];
    const save = Yaml.save;
    Yaml.save = (file: string, docs: any[]) => {
      manifests.push({ file, docs });
    };
    try {
      super.synth();
    } finally {
      Yaml.save = save;
    }
    return manifests;
  }

  /**
   * The rules and the report must see every object; should a cdk8s version
   * write files some other way, the synth stops rather than pass objects
   * nobody checked.
   */
  private checkEveryObjectRecorded(recorded: number): void {
    const objects = this.node.findAll().filter((construct) => ApiObject.isApiObject(construct)).length;
    if (recorded !== objects) {
      throw new Error(`${this.node.path || 'SpireIstioApp'}: the wiring checks saw ${recorded} of the ${objects} objects cdk8s wrote, so they would pass some unchecked. Fix: use a cdk8s version that writes manifests with Yaml.save (any 2.x so far).`);
    }
  }

  /**
   * The construct whose object a finding names: the profile for its Helm
   * values, else the API object's owner (cdk8s-plus constructs hold theirs as
   * a child named "Resource").
   */
  private constructOf(finding: Finding): string | undefined {
    if (finding.object === ISTIOD_HELM_VALUES) return this.helmValuesWritten().find((profile) => profile.helmValuesFile === finding.file)?.node.path;
    const apiObject = this.node.findAll().filter(ApiObject.isApiObject).find((candidate) => describe({
      kind: candidate.kind,
      metadata: { name: candidate.name, namespace: candidate.metadata.namespace ?? Chart.of(candidate).namespace },
    }) === finding.object);
    const owner = apiObject?.node.id === 'Resource' ? apiObject.node.scope : apiObject;
    return owner?.node.path;
  }

  /** The istiod Helm values of every profile that writes them, as the rules and the report read them. */
  private helmValuesObjects(): ManifestObject[] {
    return this.helmValuesWritten()
      .map((profile) => istiodValuesObject(profile.helmValuesFile, profile.helmValues))
      .sort((a, b) => a.file.localeCompare(b.file));
  }

  private helmValuesWritten(): IstioSpireProfile[] {
    return IstioSpireProfile.allIn(this).filter((candidate) => candidate.writesHelmValues);
  }

  private writeHelmValues(dir: string): void {
    for (const profile of this.helmValuesWritten()) {
      const file = path.join(dir, profile.helmValuesFile);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      Yaml.save(file, [profile.helmValues]);
    }
  }
}

/**
 * Puts `staging` where `target` is with renames, so readers see either the
 * old directory or the new one, and no file of the old one stays behind.
 */
function replaceDirectory(target: string, staging: string, retired: string): void {
  if (fs.existsSync(target)) fs.renameSync(target, retired);
  fs.renameSync(staging, target);
}
