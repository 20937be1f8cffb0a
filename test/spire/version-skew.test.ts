import { checkAgentServerSkew, releaseOfImage } from '../../lib/spire/version-skew';
import { buildStack, synthErrors } from '../support/stack';

const server = (tag: string) => `ghcr.io/spiffe/spire-server:${tag}`;
const agent = (tag: string) => `ghcr.io/spiffe/spire-agent:${tag}`;

test('the release is read from the tag, before a digest too', () => {
  expect(releaseOfImage(agent('1.15.3'))).toEqual({ major: 1, minor: 15, patch: 3 });
  expect(releaseOfImage(`${agent('v1.14.0')}@sha256:${'a'.repeat(64)}`)).toEqual({ major: 1, minor: 14, patch: 0 });
  expect(releaseOfImage(`ghcr.io/spiffe/spire-agent@sha256:${'a'.repeat(64)}`)).toBeUndefined();
  expect(releaseOfImage('localhost:5000/spire-agent:nightly')).toBeUndefined();
});

test('agents may be as new as the server or one minor version older', () => {
  expect(checkAgentServerSkew(agent('1.15.3'), server('1.15.3'))).toBeUndefined();
  expect(checkAgentServerSkew(agent('1.14.9'), server('1.15.3'))).toBeUndefined();
  expect(checkAgentServerSkew(agent('1.15.2'), server('1.15.3'))).toBeUndefined();
});

test('an agent newer than the server, or two minor versions older, is refused', () => {
  expect(checkAgentServerSkew(agent('1.15.4'), server('1.15.3'))?.rule).toBe('the agent (1.15.4) is newer than the server (1.15.3); SPIRE supports agents no newer than the oldest server');
  expect(checkAgentServerSkew(agent('1.16.0'), server('1.15.3'))?.fix).toMatch(/roll the servers to the new release first/);
  expect(checkAgentServerSkew(agent('1.13.5'), server('1.15.3'))?.rule).toMatch(/more than one minor version older/);
  expect(checkAgentServerSkew(agent('0.15.3'), server('1.15.3'))?.rule).toMatch(/more than one minor version older/);
});

test('images without a release tag are not compared', () => {
  expect(checkAgentServerSkew(`ghcr.io/spiffe/spire-agent@sha256:${'b'.repeat(64)}`, server('1.15.3'))).toBeUndefined();
});

test('the agent construct reports a skewed pair at synth, naming its image', () => {
  const { app } = buildStack({ server: { image: server('1.14.1') } });
  expect(synthErrors(app)).toEqual([expect.stringMatching(/image "ghcr\.io\/spiffe\/spire-agent:1\.15\.3": the agent \(1\.15\.3\) is newer than the server \(1\.14\.1\)/)]);
  expect(synthErrors(buildStack({ server: { image: server('1.15.3') }, agent: { image: agent('1.14.7') } }).app)).toEqual([]);
});
