import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps, Yaml } from 'cdk8s';
import { IConstruct } from 'constructs';
import { synthOnceValidated } from '../validation/validate';
import { IstioSpireProfile } from './istio-spire-profile';

const APP_SYMBOL = Symbol.for('cdk8s-spire-istio.SpireIstioApp');

/**
 * A cdk8s App that writes, besides the manifests, what SPIRE + Istio needs
 * outside Kubernetes objects: the istiod Helm values of every
 * IstioSpireProfile, for users who install istiod with Helm.
 */
export class SpireIstioApp extends App {
  /** Whether a construct is a SpireIstioApp (also across copies of this library). */
  public static isSpireIstioApp(construct: IConstruct): boolean {
    return (construct as unknown as Record<symbol, unknown>)[APP_SYMBOL] === true;
  }

  constructor(props: AppProps = {}) {
    super(props);
    Object.defineProperty(this, APP_SYMBOL, { value: true });
  }

  /** Synthesizes the manifests, then each profile's Helm values file. */
  public synth(): void {
    synthOnceValidated(this, () => super.synth());
    for (const profile of IstioSpireProfile.allIn(this).filter((candidate) => candidate.writesHelmValues)) {
      const file = path.join(this.outdir, profile.helmValuesFile);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      Yaml.save(file, [profile.helmValues]);
    }
  }
}
