import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SecretEnvModel, SecretVolumeModel, ServerConfigModel } from '../../config/server-config';
import { RbacResource } from '../../kube/objects';
import { Problem } from '../../validation/rules';
import { Check } from '../../validation/validate';

/** What a part of the SPIRE server reads of the server when it binds. */
export interface ServerBinding {
  /** The SpireServer: the scope of what a part creates. */
  readonly scope: Construct;
  /** Name of the StatefulSet, its Service and service account. */
  readonly name: string;
  readonly namespace: string;
  /** The labels that select the server pods. */
  readonly podLabels: { [key: string]: string };
  readonly replicas: number;
  /** Where the config volume is mounted in the spire-server container. */
  readonly configDir: string;
  /** SPIRE's data_dir in the spire-server container. */
  readonly dataDir: string;
  /** Whether data_dir is a volume that outlives the pod, because a part keeps something there. */
  readonly dataOnVolume: boolean;
  /** Whether an upstream authority signs the server's CA. */
  readonly upstreamSigned: boolean;
  /** The ports spire-server listens on (agent API, health checks, metrics). */
  readonly serverPorts: number[];
  /** The ports the controller manager listens on, in the same pod. */
  readonly controllerManagerPorts: number[];
}

/** The blocks of server.conf that parts render. */
export type ServerConfigBlocks = Pick<ServerConfigModel, 'datastore' | 'keyManager' | 'keyPolicyFile' | 'upstreamAuthority' | 'bundleEndpoint' | 'nodeAttestors' | 'bundlePublishers'
  | 'agentServiceAccount' | 'psatAudience' | 'bundle' | 'caTtl' | 'x509SvidTtl' | 'jwtSvidTtl' | 'jwtIssuer' | 'caKeyType' | 'caSubject'
  | 'settings'>;

/** A volume mounted into the spire-server container. */
export interface ServerMount {
  readonly path: string;
  readonly volume: kplus.Volume;
  readonly readOnly?: boolean;
}

/** A PersistentVolumeClaim per replica, mounted into the spire-server container. */
export interface ServerClaim {
  readonly name: string;
  readonly storage: string;
  readonly storageClassName?: string;
  readonly mountPath: string;
}

/** The server's pod, as the containers beside spire-server join it. */
export interface ServerPod {
  readonly statefulSet: kplus.StatefulSet;
  /** The user every container runs as. */
  readonly user: number;
  /** The config volume: server.conf and the files the parts add. */
  readonly configVolume: kplus.Volume;
  /** The directory of the server API socket, an emptyDir the containers share. */
  readonly apiSocketDir: string;
  readonly apiSocketVolume: kplus.Volume;
}

/** Verbs on resources, as a Role or ClusterRole allows them. */
export interface RbacRule {
  readonly verbs: string[];
  readonly resources: RbacResource[];
}

/** A Role the server's service account is bound to; `id` names the Role's and the RoleBinding's constructs. */
export interface RoleGrant {
  readonly id: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly rules: RbacRule[];
}

/**
 * What a part adds to the server. The server applies the union of its parts'
 * contributions, in the order of its parts, and reports their checks on its
 * own path.
 */
export interface ServerContribution {
  /** Blocks of server.conf, rendered when the app synthesizes, once every agent registered. */
  readonly config?: () => Partial<ServerConfigBlocks>;
  /** Files of the config volume besides server.conf, each rendered when the app synthesizes. */
  readonly configFiles?: { [file: string]: () => string };
  /** Labels of the server pods besides those that select them. */
  readonly podLabels?: { [key: string]: string };
  /** Ports of the spire-server container. */
  readonly ports?: kplus.ContainerPort[];
  /** Variables of the spire-server container. */
  readonly env?: { [name: string]: kplus.EnvValue };
  readonly mounts?: ServerMount[];
  readonly claims?: ServerClaim[];
  /** Adds the part's containers beside spire-server. */
  readonly containers?: (pod: ServerPod) => void;
  /** What the part adds once the StatefulSet exists: objects of its own, changes to the pod spec. */
  readonly afterStatefulSet?: (statefulSet: kplus.StatefulSet) => void;
  /** Rules of the server's ClusterRole. */
  readonly clusterRules?: RbacRule[];
  /** Roles the server's service account is bound to. */
  readonly roles?: RoleGrant[];
  /** The part's checks, run when the app synthesizes. */
  readonly checks?: () => Check[];
}

/** One concern of the SPIRE server, with its settings, what it adds to the server and its checks. */
export interface ServerPart {
  /** Whether the part keeps something in data_dir that must outlive the pod. */
  readonly keepsData?: boolean;
  bind(server: ServerBinding): ServerContribution;
}

/** Variables of the spire-server container from Secret keys; `source` tells the Secrets' constructs of one part from another's. */
export function secretVariables(server: ServerBinding, source: string, variables: SecretEnvModel[]): { [name: string]: kplus.EnvValue } {
  return Object.fromEntries(variables.map(({ name, secret }) => [
    name,
    kplus.EnvValue.fromSecretValue({ secret: kplus.Secret.fromSecretName(server.scope, `${source}Secret-${name}`, secret.name), key: secret.key }),
  ]));
}

/**
 * Secrets mounted read-only into spire-server, each in a directory of its own;
 * a volume is named `<prefix>-<last segment of its path>`.
 */
export function secretMounts(server: ServerBinding, prefix: string, volumes: SecretVolumeModel[]): ServerMount[] {
  return volumes.map(({ secretName, mountPath, keys }) => {
    const name = `${prefix}-${mountPath.slice(mountPath.lastIndexOf('/') + 1)}`;
    const secret = kplus.Secret.fromSecretName(server.scope, `${name}-secret`, secretName);
    const items = Object.fromEntries(keys.map((key) => [key, { path: key }]));
    return { path: mountPath, volume: kplus.Volume.fromSecret(server.scope, name, secret, { name, items }), readOnly: true };
  });
}

/** SPIRE refuses to start when a plugin of a type is declared more than once (`catalog`'s config parsing, v1.15.3). */
export function checkUniquePlugins(names: string[], type: string): Problem | undefined {
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length === 0) return undefined;
  return {
    value: repeated.join(', '),
    rule: `SPIRE refuses to start when a ${type} plugin is declared more than once`,
    fix: 'list each plugin once, with all its options in one factory call',
  };
}

/** The contributions of a server's parts, each field the union of theirs in the parts' order. */
export class Contributions {
  private readonly all: ServerContribution[];

  constructor(parts: ServerPart[], server: ServerBinding) {
    this.all = parts.map((part) => part.bind(server));
  }

  /** Every server has the parts that render the blocks server.conf requires: agent attestation, CA, datastore and key manager. */
  public get config(): ServerConfigBlocks {
    return Object.assign({}, ...this.all.map((contribution) => contribution.config?.())) as ServerConfigBlocks;
  }

  public get configFiles(): { [file: string]: () => string } {
    return Object.assign({}, ...this.all.map((contribution) => contribution.configFiles));
  }

  public get podLabels(): { [key: string]: string } {
    return Object.assign({}, ...this.all.map((contribution) => contribution.podLabels));
  }

  public get ports(): kplus.ContainerPort[] {
    return this.all.flatMap((contribution) => contribution.ports ?? []);
  }

  public get env(): { [name: string]: kplus.EnvValue } {
    return Object.assign({}, ...this.all.map((contribution) => contribution.env));
  }

  public get mounts(): ServerMount[] {
    return this.all.flatMap((contribution) => contribution.mounts ?? []);
  }

  public get claims(): ServerClaim[] {
    return this.all.flatMap((contribution) => contribution.claims ?? []);
  }

  public addContainers(pod: ServerPod): void {
    for (const contribution of this.all) contribution.containers?.(pod);
  }

  public get clusterRules(): RbacRule[] {
    return this.all.flatMap((contribution) => contribution.clusterRules ?? []);
  }

  public get roles(): RoleGrant[] {
    return this.all.flatMap((contribution) => contribution.roles ?? []);
  }

  public afterStatefulSet(statefulSet: kplus.StatefulSet): void {
    for (const contribution of this.all) contribution.afterStatefulSet?.(statefulSet);
  }

  public get checks(): Check[] {
    return this.all.flatMap((contribution) => contribution.checks?.() ?? []);
  }
}
