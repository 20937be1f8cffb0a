import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { AuthorizationPolicy, AuthorizationPolicySpecAction } from '../../imports/security.istio.io';
import { Caller } from '../mesh/caller';
import { recordAllowPolicy } from '../mesh/spire-identity';
import { checkDnsSubdomain, Problem } from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { SpireEnabledWorkload } from './spire-enabled-workload';
import { StrictMtls } from './strict-mtls';
import { requireProps } from '../validation/required';

export interface SpiffeAuthorizationPolicyProps {
  /** The workload whose pods the policy guards. */
  readonly workload: SpireEnabledWorkload;
  /** Who may call the workload; every other request is denied. Empty only with `denyAll`. */
  readonly allowFrom: Caller[];
  /**
   * Deny every request: an ALLOW policy without rules, for a client that
   * only calls out, e.g. one whose identity federates.
   * @default false
   */
  readonly denyAll?: boolean;
  /** The strict mTLS that refuses plaintext callers before this policy does (defence in depth); it must cover the workload's namespace. */
  readonly mtls: StrictMtls;
  /** Name of the AuthorizationPolicy. @default the workload's name */
  readonly name?: string;
}

/**
 * An Istio `AuthorizationPolicy` that lets only the given callers reach a
 * SPIRE-enabled workload. Its principals are the SPIFFE IDs the app's
 * ClusterSPIFFEIDs issue to the callers' pods, in Istio's principal form
 * `<trust domain>/ns/<namespace>/sa/<service account>`; a caller no
 * ClusterSPIFFEID issues that ID to is a synth error. It is an ALLOW policy,
 * so Istio denies every request it does not match, among them requests
 * without a peer ID. Istio CRD, so it belongs in a chart applied after Istio
 * is installed, after the namespace it lives in.
 */
export class SpiffeAuthorizationPolicy extends Construct implements IApplyStaged {
  /** Every SpiffeAuthorizationPolicy of the app that holds `scope`. */
  public static allIn(scope: IConstruct): SpiffeAuthorizationPolicy[] {
    return scope.node.root.node.findAll().filter((construct): construct is SpiffeAuthorizationPolicy => construct instanceof SpiffeAuthorizationPolicy);
  }

  public readonly workload: SpireEnabledWorkload;
  public readonly mtls: StrictMtls;
  /** Its AuthorizationPolicy is an Istio CRD. */
  public readonly applyStage = ApplyStage.WORKLOADS;
  public readonly name: string;
  /** The callers' IDs as the policy names them, in the order of `allowFrom`. */
  public readonly principals: string[];
  public readonly authorizationPolicy: ApiObject;

  constructor(scope: Construct, id: string, props: SpiffeAuthorizationPolicyProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['workload', SpireEnabledWorkload, 'the SpireEnabledWorkload whose pods the policy guards'],
      ['allowFrom', 'array', 'the callers, e.g. [Caller.workload(client)], or [] with denyAll: true'],
      ['mtls', StrictMtls, 'a StrictMtls that covers the workload\'s namespace, e.g. new StrictMtls(scope, \'Mtls\', { profile, namespace })'],
    ]);
    this.workload = props.workload;
    this.mtls = props.mtls;
    this.name = props.name ?? props.workload.deployment.name;
    const trustDomain = props.workload.identity.trustDomain;
    this.principals = props.allowFrom.map((caller) => caller.principalIn(trustDomain));
    this.authorizationPolicy = new AuthorizationPolicy(this, 'Resource', {
      metadata: { name: this.name, namespace: props.workload.namespace.name },
      spec: {
        selector: { matchLabels: props.workload.selectorLabels },
        action: AuthorizationPolicySpecAction.ALLOW,
        rules: props.denyAll ? undefined : [{ from: [{ source: { principals: this.principals } }] }],
      },
    });
    recordAllowPolicy(this, props.workload.deployment);
    validateAtSynth(this, () => [
      ['name', checkDnsSubdomain(this.name)],
      ['allowFrom', checkCallersGiven(props)],
      ...props.allowFrom.map((caller, index): Check => ['allowFrom', this.checkCaller(caller, index)]),
      ['mtls', this.checkMtls()],
    ]);
    ApplyStages.declare(this);
  }

  /** The Istio profile of its mTLS policy: installing Istio creates the AuthorizationPolicy kind. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [{ construct: this.mtls.profile, reason: 'its AuthorizationPolicy is an Istio CRD, which installing Istio creates' }];
  }

  private checkCaller(caller: Caller, index: number): Problem | undefined {
    const principal = this.principals[index];
    if (this.principals.indexOf(principal) !== index) {
      return { value: `${caller.description} (${principal})`, rule: 'the ID is allowed twice', fix: 'name each caller once' };
    }
    return caller._problemCalling(this, this.workload, principal);
  }

  private checkMtls(): Problem | undefined {
    if (this.mtls.covers(this.workload.namespace)) return undefined;
    return {
      value: `${this.mtls.node.path} (namespace ${this.mtls.namespace?.name})`,
      rule: `it does not cover the workload's namespace ${this.workload.namespace.name}: without STRICT mTLS plaintext callers, which carry no SPIFFE ID, reach the sidecar and only this policy refuses them; the library requires STRICT as defence in depth`,
      fix: `pass a StrictMtls of namespace ${this.workload.namespace.name}, or one for the whole mesh`,
    };
  }
}

function checkCallersGiven(props: SpiffeAuthorizationPolicyProps): Problem | undefined {
  if (props.denyAll) {
    return props.allowFrom.length === 0 ? undefined : {
      value: props.allowFrom.map((caller) => caller.description).join(', '),
      rule: 'a policy that denies every request lets no caller in',
      fix: 'leave allowFrom empty, or drop denyAll',
    };
  }
  return props.allowFrom.length > 0 ? undefined : {
    value: '[]',
    rule: 'an ALLOW policy without callers denies every request',
    fix: 'name at least one caller, e.g. Caller.workload(client), or set denyAll: true when that is meant',
  };
}
