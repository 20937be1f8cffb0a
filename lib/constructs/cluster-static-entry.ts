import { Construct, IConstruct } from 'constructs';
import { ClusterStaticEntry as ClusterStaticEntryResource, ClusterStaticEntrySpec } from '../../imports/spire.spiffe.io';
import { ApplyPrerequisite, ApplyStage, ApplyStages, IApplyStaged } from '../mesh/apply-stage';
import { registerLayoutChecks } from '../mesh/layout-checks';
import {
  checkDnsSubdomain, checkGoDuration, checkSelector, checkSpiffeId, checkTrustDomain, Problem,
} from '../validation/rules';
import { Check, validateAtSynth } from '../validation/validate';
import { ClusterFederatedTrustDomain, federatedTrustDomainNames, federatesWithChecks, federationPrerequisites } from './cluster-federated-trust-domain';
import { checkServerSignsJwtSvids, type ISpireServer, SPIRE_SERVER_KIND } from './spire-server/reference';
import { requireProps } from '../validation/required';
import { defaultName } from '../kube/default-name';

export interface ClusterStaticEntryProps {
  /** The server whose controller manager registers this entry; trust domain and class come from it. */
  readonly server: ISpireServer;
  /** Name of the cluster-scoped resource. @default derived from the construct path, unique in the app */
  readonly name?: string;
  /** The SPIFFE ID the entry issues, in the server's trust domain, e.g. `spiffe://example.org/vm/billing`. */
  readonly spiffeId: string;
  /** SPIFFE ID of the agent (or downstream server) that hands out the SVID, in the server's trust domain. */
  readonly parentId: string;
  /** Selectors a workload must all match, each `type:value`, e.g. `unix:uid:1000`. */
  readonly selectors: string[];
  /** Other trust domains whose bundles the workload gets; each must be declared for the same server. @default none */
  readonly federatesWith?: ClusterFederatedTrustDomain[];
  /** Lifetime of the X.509 SVID (Go duration). @default the server's default SVID TTL */
  readonly x509SvidTtl?: string;
  /** Lifetime of JWT SVIDs (Go duration). @default the server's default */
  readonly jwtSvidTtl?: string;
  /** DNS names put into the X.509 SVID. @default none */
  readonly dnsNames?: string[];
  /** Hint workloads use to choose between several SVIDs. @default none */
  readonly hint?: string;
  /** The workload may call the server's admin API. @default false */
  readonly admin?: boolean;
  /** The entry is for a downstream SPIRE server, which may mint its own SVIDs. @default false */
  readonly downstream?: boolean;
  /** The agent stores the SVID with an SVIDStore plugin instead of serving it. @default false */
  readonly storeSvid?: boolean;
}

/**
 * A ClusterStaticEntry: one registration entry the SPIRE Controller Manager
 * keeps in SPIRE as written, for workloads that are no pods of this cluster
 * (nodes, VMs, downstream servers). Its `className` is always the server's.
 */
export class ClusterStaticEntry extends Construct implements IApplyStaged {
  /** Every ClusterStaticEntry in the app that holds `scope`. */
  public static allIn(scope: IConstruct): ClusterStaticEntry[] {
    return scope.node.root.node.findAll().filter((construct): construct is ClusterStaticEntry => construct instanceof ClusterStaticEntry);
  }

  public readonly name: string;
  public readonly server: ISpireServer;
  public readonly trustDomain: string;
  public readonly spiffeId: string;
  public readonly parentId: string;
  public readonly selectors: string[];
  /** The controller manager registers it, so it applies with the identities once SPIRE runs. */
  public readonly applyStage = ApplyStage.IDENTITIES;

  private readonly props: ClusterStaticEntryProps;

  constructor(scope: Construct, id: string, props: ClusterStaticEntryProps) {
    super(scope, id);
    requireProps(this.node.path, props, [
      ['server', SPIRE_SERVER_KIND, 'the SpireServer whose controller manager reconciles it'],
      ['spiffeId', 'string', 'the entry\'s SPIFFE ID, e.g. "spiffe://corp.example/vm/billing"'],
      ['parentId', 'string', 'the SPIFFE ID of the agent that attests the workload'],
      ['selectors', 'array', 'the selectors as "type:value" strings, e.g. ["unix:uid:1000"]'],
    ]);
    this.props = props;
    this.server = props.server;
    this.trustDomain = props.server.trustDomain;
    this.name = props.name ?? defaultName(this);
    this.spiffeId = props.spiffeId;
    this.parentId = props.parentId;
    this.selectors = props.selectors;

    new ClusterStaticEntryResource(this, 'Resource', { metadata: { name: this.name }, spec: this.renderSpec() });
    validateAtSynth(this, () => this.checks());
    ApplyStages.declare(this);
    registerLayoutChecks(this);
  }

  /** The trust domains this entry federates with. */
  public get federatesWith(): ClusterFederatedTrustDomain[] {
    return [...this.props.federatesWith ?? []];
  }

  /** The server, whose controller manager registers it, and the declarations of the trust domains it federates with. */
  public get applyPrerequisites(): ApplyPrerequisite[] {
    return [
      { construct: this.server, reason: 'the SPIRE controller manager registers ClusterStaticEntries, so it applies with the identities once SPIRE runs' },
      ...federationPrerequisites(this, this.federatesWith, this.server),
    ];
  }

  private renderSpec(): ClusterStaticEntrySpec {
    const props = this.props;
    // Unset, empty and false are the same to the controller manager; only set values are written.
    return {
      className: this.server.className,
      spiffeId: this.spiffeId,
      parentId: this.parentId,
      selectors: this.selectors,
      federatesWith: federatedTrustDomainNames(props.federatesWith ?? []),
      x509Svidttl: props.x509SvidTtl,
      jwtSvidttl: props.jwtSvidTtl,
      dnsNames: nonEmpty(props.dnsNames),
      hint: props.hint || undefined,
      admin: props.admin || undefined,
      downstream: props.downstream || undefined,
      storeSvid: props.storeSvid || undefined,
    };
  }

  private checks(): Check[] {
    const props = this.props;
    // With an invalid trust domain the server reports the cause; every ID would fail too.
    const trustDomainValid = checkTrustDomain(this.trustDomain) === undefined;
    return [
      ['name', checkDnsSubdomain(this.name)],
      ['spiffeId', trustDomainValid ? checkSpiffeId(this.spiffeId, this.trustDomain) : undefined],
      ['parentId', trustDomainValid ? checkSpiffeId(this.parentId, this.trustDomain) : undefined],
      ['selectors', this.checkSelectorsGiven()],
      ...this.selectors.map((selector): Check => ['selectors', checkSelector(selector)]),
      ...federatesWithChecks(props.federatesWith ?? [], this.server),
      ['x509SvidTtl', props.x509SvidTtl === undefined ? undefined : checkGoDuration(props.x509SvidTtl)],
      ['jwtSvidTtl', props.jwtSvidTtl === undefined ? undefined : checkGoDuration(props.jwtSvidTtl) ?? checkServerSignsJwtSvids(this.server, props.jwtSvidTtl, 'a JWT-SVID lifetime')],
    ];
  }

  private checkSelectorsGiven(): Problem | undefined {
    if (this.selectors.length > 0) return undefined;
    return { value: '[]', rule: 'SPIRE refuses an entry without selectors: no workload could prove it is the one meant', fix: 'add at least one selector, e.g. "unix:uid:1000"' };
  }
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
  return list && list.length > 0 ? list : undefined;
}
