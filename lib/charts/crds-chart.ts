import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { SpireCrds } from '../constructs/spire-crds';

/** Apply stage 1: the spire.spiffe.io CRDs, which must be established before anything uses them. */
export class CrdsChart extends Chart {
  public readonly crds: SpireCrds;

  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    this.crds = new SpireCrds(this, 'SpireCrds');
  }
}
