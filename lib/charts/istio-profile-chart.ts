import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { IstioSpireProfile, IstioSpireProfileProps } from '../constructs/istio-spire-profile';

/** Apply stage 4: the IstioOperator, installed with `istioctl install -f`, not kubectl. */
export class IstioProfileChart extends Chart {
  public readonly profile: IstioSpireProfile;

  constructor(scope: Construct, id: string, props: IstioSpireProfileProps) {
    super(scope, id, { disableResourceNameHashes: true });
    this.profile = new IstioSpireProfile(this, 'Profile', props);
  }
}
