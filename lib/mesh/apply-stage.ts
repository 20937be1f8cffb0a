import { IConstruct } from 'constructs';

/**
 * The stages an app's output is applied in, in this order: each in charts
 * applied after those of the stages before it (SpireIstioMesh makes one chart
 * per stage).
 */
export enum ApplyStage {
  /** CustomResourceDefinitions, established before any resource of theirs. */
  CRDS = 'CRDS',
  /** The SPIRE server with its controller manager, the agents and the CSI driver. */
  SPIRE = 'SPIRE',
  /** What SPIRE's controller manager admits and reconciles: ClusterSPIFFEIDs, ClusterStaticEntries, ClusterFederatedTrustDomains. */
  IDENTITIES = 'IDENTITIES',
  /** Istio, installed with the SPIRE injection templates. */
  ISTIO = 'ISTIO',
  /** SPIRE-enabled workloads and Istio's own resources: routes, policies, service entries. */
  WORKLOADS = 'WORKLOADS',
}

/** A construct whose chart must be applied before the chart of the construct that names it, and why. */
export interface ApplyPrerequisite {
  /** The construct applied first. */
  readonly construct: IConstruct;
  /** Why, as the layout check's message says it, e.g. "its PeerAuthentication is an Istio CRD, which installing Istio creates". */
  readonly reason: string;
  /**
   * Whether both may be in one chart, applied together.
   * @default false: the construct's chart must depend on the prerequisite's
   */
  readonly mayShareChart?: boolean;
  /**
   * The fix the message gives.
   * @default move the construct to a chart of its own that depends on the prerequisite's, or compose the stages with SpireIstioMesh
   */
  readonly fix?: string;
}

/**
 * A construct that states the stage its objects are applied in and what must
 * be applied before them. The app's layout checks, which every SPIRE and
 * Istio construct of this library registers, report each such construct
 * whose chart is not applied after its prerequisites' charts. Declare it with
 * `ApplyStages.declare(this)` in its constructor, so that the checks
 * recognise it.
 */
export interface IApplyStaged extends IConstruct {
  /** The stage its objects are applied in. */
  readonly applyStage: ApplyStage;
  /** What must be applied before them. */
  readonly applyPrerequisites: ApplyPrerequisite[];
}

// A global symbol, so that two copies of the library in one app recognise each other's constructs.
const STAGED = Symbol.for('cdk8s-spire-istio.IApplyStaged');
const stagedHere = new WeakMap<IConstruct, { stage: ApplyStage; prerequisites: ApplyPrerequisite[] }>();

/** Declares and recognises constructs that state their apply stage. */
export class ApplyStages {
  /** Declares a construct that implements IApplyStaged, so that the layout checks order it. */
  public static declare(construct: IApplyStaged): void {
    Object.defineProperty(construct, STAGED, { value: true, configurable: true });
  }

  /** Whether a construct was declared with `declare`. */
  public static isStaged(x: any): x is IApplyStaged {
    return x !== null && typeof x === 'object' && STAGED in x;
  }

  /**
   * States the stage of a construct whose class does not, e.g. an ApiObject
   * or one an Include loaded, and one of its prerequisites; call it again
   * for more.
   */
  public static stage(target: IConstruct, stage: ApplyStage, prerequisite: ApplyPrerequisite): void {
    const known = stagedHere.get(target);
    if (known === undefined && ApplyStages.isStaged(target)) {
      throw new Error(`${target.node.path}: its class states its apply stage already. Fix: add the prerequisite to its applyPrerequisites.`);
    }
    if (known !== undefined && known.stage !== stage) {
      throw new Error(`${target.node.path}: its apply stage is ${known.stage}, not ${stage}. Fix: state one stage for it.`);
    }
    const prerequisites = known?.prerequisites ?? [];
    if (known === undefined) {
      stagedHere.set(target, { stage, prerequisites });
      Object.defineProperties(target, { applyStage: { value: stage }, applyPrerequisites: { get: () => [...prerequisites] } });
      ApplyStages.declare(target as IApplyStaged);
    }
    prerequisites.push(prerequisite);
  }

  private constructor() {}
}
