import { ServerSettingsOptions, serverSettingsChecks } from '../../config/server-settings';
import { SpireServerProps } from './options';
import { ServerBinding, ServerContribution, ServerPart } from './part';

const POLICY_FILE = 'authorization-policy.rego';
const POLICY_DATA_FILE = 'authorization-policy-data.json';

/**
 * The settings of server.conf that no other part owns: logging, admin IDs,
 * JWT-SVIDs on or off, agent SVIDs, rate limits, node pruning, the `k8s_psat`
 * label selectors, the `uniqueid` CredentialComposer and the experimental
 * block. An authorization policy's files join the config volume.
 */
export class ServerSettings implements ServerPart {
  constructor(private readonly props: SpireServerProps) {}

  /** Whether the server signs JWT-SVIDs at all. */
  public get jwtSvidsDisabled(): boolean {
    return this.props.disableJwtSvids ?? false;
  }

  public bind(server: ServerBinding): ServerContribution {
    const options: ServerSettingsOptions = this.props;
    const policy = options.experimental?.authorizationPolicy;
    const policyData = policy?.policyData;
    return {
      config: () => ({
        settings: {
          options,
          authorizationPolicy: policy === undefined ? undefined : {
            rego: `${server.configDir}/${POLICY_FILE}`,
            policyData: policyData === undefined ? undefined : `${server.configDir}/${POLICY_DATA_FILE}`,
          },
        },
      }),
      configFiles: policy === undefined ? {} : {
        [POLICY_FILE]: () => policy.rego,
        ...(policyData === undefined ? {} : { [POLICY_DATA_FILE]: () => policyData }),
      },
      checks: () => serverSettingsChecks(options, this.props.trustDomain, {
        jwtIssuer: this.props.jwtIssuer,
        jwtSvidTtl: this.props.jwtSvidTtl,
        jwtKeyType: this.props.jwtKeyType,
      }),
    };
  }
}
