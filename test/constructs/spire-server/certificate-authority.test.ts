import { CaKeyType } from '../../../lib/config/key-manager';
import { buildStack, StackOverrides, synthErrors } from '../../support/stack';

const errorsWith = (server: StackOverrides['server']) => synthErrors(buildStack({ server }).app);

describe('SpireServer certificate authority', () => {
  test('the CA lives 24h and X.509 SVIDs 1h unless set, and both are the lifetimes agents read', () => {
    const { server } = buildStack();
    expect(server.serverConfig.server).toMatchObject({ ca_ttl: '24h', default_x509_svid_ttl: '1h' });
    expect([server.caTtl, server.x509SvidTtl]).toEqual(['24h', '1h']);
    const set = buildStack({ server: { caTtl: '48h', x509SvidTtl: '90m' } }).server;
    expect(set.serverConfig.server).toMatchObject({ ca_ttl: '48h', default_x509_svid_ttl: '90m' });
    expect([set.caTtl, set.x509SvidTtl]).toEqual(['48h', '90m']);
  });

  test('default_jwt_svid_ttl and jwt_issuer are written only when set', () => {
    const written = (server: StackOverrides['server']) => JSON.parse(JSON.stringify(buildStack({ server }).server.serverConfig)).server;
    const unset = written({});
    expect(unset).not.toHaveProperty('default_jwt_svid_ttl');
    expect(unset).not.toHaveProperty('jwt_issuer');
    const set = written({ jwtSvidTtl: '10m', jwtIssuer: 'https://oidc.example.org' });
    expect(set).toMatchObject({ default_jwt_svid_ttl: '10m', jwt_issuer: 'https://oidc.example.org' });
  });

  test('CA key type and subject are written only when set, in SPIRE\'s own shape', () => {
    expect(buildStack().server.serverConfig.server).not.toHaveProperty('ca_key_type');
    expect(buildStack().server.serverConfig.server).not.toHaveProperty('ca_subject');
    const { server } = buildStack({
      server: { caKeyType: CaKeyType.EC_P384, caSubject: { country: ['DE'], organization: ['Example'], commonName: 'spire-ca' } },
    });
    expect(server.serverConfig.server.ca_key_type).toBe('ec-p384');
    expect(server.serverConfig.server.ca_subject).toEqual({ country: ['DE'], organization: ['Example'], common_name: 'spire-ca' });
  });

  test.each([
    [{ caSubject: {} }, 'caSubject "{}": an empty CA subject is ignored by SPIRE'],
    [{ caSubject: { country: ['Germany'] } }, 'caSubject "Germany": a certificate\'s country is a two-letter ISO 3166 code'],
  ])('%j is rejected (%s)', (bad, message) => {
    expect(errorsWith(bad)).toEqual([expect.stringContaining(message)]);
  });

  test.each([
    [{ caTtl: '1d' }, 'caTtl "1d"', { caTtl: '48h' }],
    [{ x509SvidTtl: 'one hour' }, 'x509SvidTtl "one hour"', { x509SvidTtl: '90m' }],
    [{ jwtSvidTtl: '5 minutes' }, 'jwtSvidTtl "5 minutes": a TTL is a positive Go duration', { jwtSvidTtl: '5m' }],
    [{ jwtIssuer: 'oidc.example.org' }, 'jwtIssuer "oidc.example.org": it is not an absolute URL', { jwtIssuer: 'https://oidc.example.org' }],
    [{ jwtIssuer: 'http://oidc.example.org' }, 'jwtIssuer "http://oidc.example.org": OpenID Connect relying parties (cloud IAM among them) accept only an https issuer', { jwtIssuer: 'https://oidc.example.org/tenant-a' }],
    [{ jwtIssuer: 'https://OIDC.example.org' }, 'the issuer host is written in lowercase ASCII', { jwtIssuer: 'https://oidc.example.org:8443' }],
    [{ jwtIssuer: 'https://oidc.example.org/?tenant=a' }, 'an issuer URL has no query or fragment', { jwtIssuer: 'https://oidc.example.org/' }],
    [{ jwtIssuer: 'https://oidc.example.org/#keys' }, 'an issuer URL has no query or fragment', { jwtIssuer: 'https://xn--bcher-kva.example' }],
    [{ jwtIssuer: 'https://user:pw@oidc.example.org' }, 'an issuer URL carries no credentials', { jwtIssuer: 'https://oidc.example.org' }],
  ])('%j is rejected (%s); its neighbour %j is accepted', (bad, message, good) => {
    expect(errorsWith(bad)).toEqual([expect.stringContaining(message)]);
    expect(errorsWith(good)).toEqual([]);
  });
});
