import * as kplus from 'cdk8s-plus-27';
import { UpstreamAuthority, UpstreamAuthorityModel, WORKLOAD_API_DIR } from '../../config/upstream-authority';
import { addProjectedServiceAccountToken } from '../../kube/objects';
import { Check } from '../../validation/validate';
import { RoleGrant, secretMounts, secretVariables, ServerBinding, ServerContribution, ServerMount, ServerPart } from './part';

/**
 * The CA that signs the server's CA (SPIRE's UpstreamAuthority plugin). Its
 * credentials reach spire-server as read-only Secret volumes or variables
 * from Secrets, never through the ConfigMap; in nested SPIRE, the upstream
 * agent's Workload API socket comes through its CSI driver.
 */
export class UpstreamAuthorityPart implements ServerPart {
  private readonly model: UpstreamAuthorityModel;

  constructor(authority: UpstreamAuthority) {
    this.model = authority._model();
  }

  public bind(server: ServerBinding): ServerContribution {
    return {
      config: () => ({ upstreamAuthority: { pluginName: this.model.pluginName, pluginData: this.model.pluginData } }),
      env: secretVariables(server, 'Upstream', this.model.secretEnv),
      mounts: [...secretMounts(server, 'upstream', this.model.secretVolumes), ...this.workloadApiMounts(server)],
      roles: this.certificateRequestRoles(server),
      afterStatefulSet: (statefulSet) => this.mountProjectedToken(statefulSet),
      checks: () => this.model.checks.map(([what, problem]): Check => [`upstreamAuthority.${what}`, problem]),
    };
  }

  /** spire-server is the pod's first container. */
  private mountProjectedToken(statefulSet: kplus.StatefulSet): void {
    const token = this.model.projectedToken;
    if (token === undefined) return;
    addProjectedServiceAccountToken(statefulSet, {
      volumeName: 'upstream-token',
      containerIndex: 0,
      mountPath: token.mountPath,
      tokenPath: token.file,
      audience: token.audience,
      expirationSeconds: token.expirationSeconds,
    });
  }

  private workloadApiMounts(server: ServerBinding): ServerMount[] {
    const driver = this.model.workloadApiCsiDriver;
    if (driver === undefined) return [];
    const socketDir = kplus.Volume.fromCsi(server.scope, 'UpstreamWorkloadApi', driver, { name: 'upstream-agent-socket', readOnly: true });
    return [{ path: WORKLOAD_API_DIR, volume: socketDir, readOnly: true }];
  }

  /** The cert-manager upstream authority creates CertificateRequests, polls them and deletes stale ones. */
  private certificateRequestRoles(server: ServerBinding): RoleGrant[] {
    const namespace = this.model.certificateRequestNamespace;
    if (namespace === undefined) return [];
    return [{
      id: 'UpstreamAuthority',
      metadata: { name: `${server.namespace}-${server.name}-upstream-authority`, namespace },
      rules: [{ verbs: ['get', 'list', 'create', 'delete'], resources: [kplus.ApiResource.custom({ apiGroup: 'cert-manager.io', resourceType: 'certificaterequests' })] }],
    }];
  }
}
