import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { PeerAuthentication, PeerAuthenticationSpecMtlsMode } from '../../imports/security.istio.io';
import { checkDnsSubdomain } from '../validation/rules';
import { validateAtSynth } from '../validation/validate';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { IstioSpireProfile } from './istio-spire-profile';
import { MeshNamespace } from './mesh-namespace';
import { requireProps } from '../validation/required';

export interface StrictMtlsProps {
  /** The Istio profile of the mesh; a mesh-wide policy goes in its root namespace. */
  readonly profile: IstioSpireProfile;
  /** The namespace whose workloads accept mTLS only. @default every namespace of the mesh */
  readonly namespace?: MeshNamespace;
  /** Name of the PeerAuthentication. @default "default" */
  readonly name?: string;
}

/**
 * An Istio `PeerAuthentication` in STRICT mode: the sidecars of a namespace,
 * or of the whole mesh, accept only mTLS, so every request carries the peer's
 * SPIFFE ID that authorization policies match. Istio CRD, so it belongs in a
 * chart applied after Istio is installed, after the namespace it lives in.
 */
export class StrictMtls extends Construct implements IApplyStaged {
  /** Every StrictMtls of the app that holds `scope`. */
  public static allIn(scope: IConstruct): StrictMtls[] {
    return scope.node.root.node.findAll().filter((construct): construct is StrictMtls => construct instanceof StrictMtls);
  }

  public readonly profile: IstioSpireProfile;
  /** Its PeerAuthentication is an Istio CRD. */
  public readonly applyStage = ApplyStage.WORKLOADS;
  /** The namespace it applies to; none when it applies to the whole mesh. */
  public readonly namespace?: MeshNamespace;
  public readonly name: string;
  public readonly peerAuthentication: ApiObject;

  constructor(scope: Construct, id: string, props: StrictMtlsProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['profile', IstioSpireProfile, 'the IstioSpireProfile, e.g. mesh.profile'],
    ]);
    this.profile = props.profile;
    this.namespace = props.namespace;
    this.name = props.name ?? 'default';
    this.peerAuthentication = new PeerAuthentication(this, 'Resource', {
      metadata: { name: this.name, namespace: props.namespace?.name ?? props.profile.rootNamespace },
      spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode.STRICT } },
    });
    validateAtSynth(this, () => [['name', checkDnsSubdomain(this.name)]]);
    ApplyStages.declare(this);
  }

  /** The Istio profile: installing Istio creates the PeerAuthentication kind. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [{ construct: this.profile, reason: 'its PeerAuthentication is an Istio CRD, which installing Istio creates' }];
  }

  /** Whether the workloads of this namespace accept mTLS only under this policy. */
  public covers(namespace: MeshNamespace): boolean {
    return this.namespace === undefined || this.namespace.name === namespace.name;
  }
}
