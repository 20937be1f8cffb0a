import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, AppProps, Yaml } from 'cdk8s';
import { IConstruct } from 'constructs';
import { istiodValuesObject, ManifestObject } from '../check/manifests';
import { WIRING_REPORT_FILE, wiringReport } from '../check/wiring-report';
import { omitServerNormalisedFields } from '../kube/server-normal-form';
import { synthOnceValidated } from '../validation/validate';
import { IstioSpireProfile } from './istio-spire-profile';

const APP_SYMBOL = Symbol.for('cdk8s-spire-istio.SpireIstioApp');

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
 * Its synth replaces the output directory whole, and only once everything
 * was written: a synth that fails leaves the last good output as it was.
 */
export class SpireIstioApp extends App {
  /** Whether a construct is a SpireIstioApp (also across copies of this library). */
  public static isSpireIstioApp(construct: IConstruct): boolean {
    return (construct as unknown as Record<symbol, unknown>)[APP_SYMBOL] === true;
  }

  /** Whether synth writes `WIRING.md` next to the manifests. */
  public readonly writesWiringReport: boolean;

  constructor(props: SpireIstioAppProps = {}) {
    super(props);
    this.writesWiringReport = props.wiringReport ?? true;
    Object.defineProperty(this, APP_SYMBOL, { value: true });
  }

  /**
   * Synthesizes the manifests, each profile's Helm values file and the
   * wiring report into a staging directory next to `outdir`, then swaps it
   * into place.
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
      let written: ManifestObject[] = [];
      synthOnceValidated(this, () => {
        written = this.synthRecordingWrites(dir);
      });
      this.writeHelmValues(dir);
      if (this.writesWiringReport) {
        this.checkEveryObjectRecorded(written.length);
        fs.writeFileSync(path.join(dir, WIRING_REPORT_FILE), this.wiringReport(written));
      }
    } finally {
      writable.outdir = outdir;
    }
  }

  /**
   * cdk8s's synth, returning the objects it wrote in the order of their files,
   * as reading the files back would give them. They are what the wiring report
   * describes; rendering the charts again or parsing the files would be most of
   * the time a large synth spends on the report.
   */
  private synthRecordingWrites(dir: string): ManifestObject[] {
    const written: ManifestObject[] = [];
    const save = Yaml.save;
    Yaml.save = (file: string, docs: any[]) => {
      save.call(Yaml, file, docs);
      written.push(...docs.map((doc) => ({ file: path.relative(dir, file), doc })));
    };
    try {
      super.synth();
    } finally {
      Yaml.save = save;
    }
    return written.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  /**
   * The report must describe every object; should a cdk8s version write files
   * some other way, the synth stops rather than write a report of fewer.
   */
  private checkEveryObjectRecorded(recorded: number): void {
    const objects = this.node.findAll().filter((construct) => ApiObject.isApiObject(construct)).length;
    if (recorded !== objects) {
      throw new Error(`${this.node.path || 'SpireIstioApp'}: the wiring report saw ${recorded} of the ${objects} objects cdk8s wrote, so it would leave some out. Fix: use a cdk8s version that writes manifests with Yaml.save (any 2.x so far), or set wiringReport: false.`);
    }
  }

  /** The report of what was just written, the manifests and each profile's Helm values. */
  private wiringReport(written: ManifestObject[]): string {
    const helmValues = this.helmValuesWritten()
      .map((profile) => istiodValuesObject(profile.helmValuesFile, profile.helmValues))
      .sort((a, b) => a.file.localeCompare(b.file));
    return wiringReport([...written, ...helmValues]);
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
