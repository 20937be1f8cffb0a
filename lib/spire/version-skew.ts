import { Problem } from '../validation/rules';

/** A SPIRE release as an image tag names it. */
interface Release {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/**
 * The release an image's tag names (`:1.15.3`, `:v1.15.3`, also before a
 * digest); undefined for digests alone and tags that are not a release, whose
 * version only the registry knows.
 */
export function releaseOfImage(image: string): Release | undefined {
  const withoutDigest = image.replace(/@sha256:[a-f0-9]+$/, '');
  const match = /:v?(\d+)\.(\d+)\.(\d+)$/.exec(withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1));
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

const format = (release: Release) => `${release.major}.${release.minor}.${release.patch}`;

const compare = (a: Release, b: Release) => a.major - b.major || a.minor - b.minor || a.patch - b.patch;

/**
 * SPIRE's supported skew: agents are never newer than the servers they talk
 * to, and at most one minor version older. Images whose tags name no release
 * are not compared.
 */
export function checkAgentServerSkew(agentImage: string, serverImage: string): Problem | undefined {
  const agent = releaseOfImage(agentImage);
  const server = releaseOfImage(serverImage);
  if (agent === undefined || server === undefined) return undefined;
  if (compare(agent, server) > 0) {
    return {
      value: agentImage,
      rule: `the agent (${format(agent)}) is newer than the server (${format(server)}); SPIRE supports agents no newer than the oldest server`,
      fix: 'roll the servers to the new release first, then the agents (see docs/production.md, "Upgrades")',
    };
  }
  if (agent.major !== server.major || server.minor - agent.minor > 1) {
    return {
      value: agentImage,
      rule: `the agent (${format(agent)}) is more than one minor version older than the server (${format(server)}), beyond SPIRE's supported skew`,
      fix: 'upgrade one minor version at a time: servers, then agents',
    };
  }
  return undefined;
}
