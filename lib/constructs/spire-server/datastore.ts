import * as kplus from 'cdk8s-plus-27';
import { ServerDatastore } from '../../config/server-config';
import { checkReplicaCount, Problem } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { secretMounts, secretVariables, ServerBinding, ServerContribution, ServerPart } from './part';

const DATA_VOLUME = 'spire-data';

/**
 * Where the server keeps registrations, agents and bundles, and its data_dir:
 * a PersistentVolumeClaim per replica when anything there must outlive the
 * pod (the sqlite database, or what another part keeps), else an emptyDir. An
 * external database's connection strings reach SPIRE as variables from their
 * Secrets, which SPIRE expands (`-expandEnv`), so no secret lands in the
 * ConfigMap, and its CA and client certificate are read-only Secret volumes;
 * its pool limits are checked here, on the server's path.
 */
export class Datastore implements ServerPart {
  constructor(private readonly datastore: ServerDatastore, private readonly volume: { readonly size?: string; readonly storageClassName?: string }) {}

  /** The sqlite database lives in data_dir. */
  public get keepsData(): boolean {
    return this.datastore.isSqlite;
  }

  public bind(server: ServerBinding): ServerContribution {
    return {
      config: () => ({ datastore: this.datastore._model() }),
      env: secretVariables(server, 'Datastore', this.datastore._secretEnv()),
      ...(server.dataOnVolume
        ? { claims: [{ name: DATA_VOLUME, storage: this.volume.size ?? '1Gi', storageClassName: this.volume.storageClassName, mountPath: server.dataDir }] }
        : {}),
      mounts: [
        ...(server.dataOnVolume ? [] : [{ path: server.dataDir, volume: kplus.Volume.fromEmptyDir(server.scope, 'DataVolume', DATA_VOLUME) }]),
        ...secretMounts(server, 'datastore', this.datastore._secretVolumes()),
      ],
      checks: () => [
        ['replicas', this.checkReplicas(server.replicas)],
        ...this.datastore._checks().map(([what, problem]): Check => [`datastore.${what}`, problem]),
      ],
    };
  }

  /** A replica count that is no count at all is reported by the high availability part. */
  private checkReplicas(replicas: number): Problem | undefined {
    if (!this.datastore.isSqlite || replicas <= 1 || checkReplicaCount(replicas) !== undefined) return undefined;
    return {
      value: String(replicas),
      rule: 'the sqlite datastore lives on one replica\'s volume, so replicas cannot share it',
      fix: 'set replicas to 1, or use `datastore: ServerDatastore.external(DatabaseType.POSTGRES, { name, key })`',
    };
  }
}
