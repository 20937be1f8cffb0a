import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Check } from '../../validation/validate';

/** What a part of the SPIRE server reads of the server when it binds. */
export interface ServerBinding {
  /** The SpireServer: the scope of what a part creates. */
  readonly scope: Construct;
  readonly namespace: string;
  /** The labels that select the server pods. */
  readonly podLabels: { [key: string]: string };
  readonly replicas: number;
}

/**
 * What a part adds to the server. The server applies the union of its parts'
 * contributions, in the order of its parts, and reports their checks on its
 * own path.
 */
export interface ServerContribution {
  /** What the part adds once the StatefulSet exists: objects of its own, changes to the pod spec. */
  readonly afterStatefulSet?: (statefulSet: kplus.StatefulSet) => void;
  readonly checks?: Check[];
}

/** One concern of the SPIRE server, with its settings, what it adds to the server and its checks. */
export interface ServerPart {
  bind(server: ServerBinding): ServerContribution;
}

/** The contributions of a server's parts, each field the union of theirs in the parts' order. */
export class Contributions {
  private readonly all: ServerContribution[];

  constructor(parts: ServerPart[], server: ServerBinding) {
    this.all = parts.map((part) => part.bind(server));
  }

  public afterStatefulSet(statefulSet: kplus.StatefulSet): void {
    for (const contribution of this.all) contribution.afterStatefulSet?.(statefulSet);
  }

  public get checks(): Check[] {
    return this.all.flatMap((contribution) => contribution.checks ?? []);
  }
}
