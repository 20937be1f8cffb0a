import { checkJwtIssuer } from '../../lib/validation/jwt-issuer';

describe('checkJwtIssuer', () => {
  test.each([
    'https://oidc.example.org',
    'https://oidc.example.org/',
    'https://oidc.example.org:8443/tenant-a',
    'https://xn--bcher-kva.example/a/b_c.d~e',
    'https://oidc.example.org/a!$&\'()*+,;=:@b',
  ])('%s is accepted', (issuer) => {
    expect(checkJwtIssuer(issuer)).toBeUndefined();
  });

  test.each([
    ['oidc.example.org', 'it is not an absolute URL'],
    ['https://', 'it is not an absolute URL'],
    ['http://oidc.example.org', 'accept only an https issuer'],
    ['HTTPS://oidc.example.org', 'the issuer URL starts with "https://", in lowercase'],
    ['https:oidc.example.org', 'the issuer URL starts with "https://", in lowercase'],
    ['https://user:pw@oidc.example.org', 'an issuer URL carries no credentials'],
    ['https://OIDC.example.org', 'the issuer host is written in lowercase ASCII'],
    ['https://bücher.example', 'the issuer host is written in lowercase ASCII'],
    ['https://oidc.example.org/?tenant=a', 'an issuer URL has no query or fragment'],
    ['https://oidc.example.org/#keys', 'an issuer URL has no query or fragment'],
    ['https://oidc.example.org/a b', 'the issuer path holds only letters'],
    ['https://oidc.example.org/a%20b', 'the issuer path holds only letters'],
    ['https://oidc.example.org/tenant-ä', 'the issuer path holds only letters'],
    ['https://oidc.example.org/a"b', 'the issuer path holds only letters'],
  ])('%j is rejected: %s', (issuer, rule) => {
    expect(checkJwtIssuer(issuer)?.rule).toContain(rule);
  });
});
