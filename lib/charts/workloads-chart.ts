import { Chart } from 'cdk8s';
import { Construct } from 'constructs';

/**
 * Apply stage 5: the ingress gateway and SPIRE-enabled workloads, once SPIRE
 * runs and Istio is installed with the SPIRE templates.
 */
export class WorkloadsChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
  }
}
