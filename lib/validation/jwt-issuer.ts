import { Problem } from './rules';

/**
 * The issuer of JWT-SVIDs, as relying parties that discover its keys through
 * OpenID Connect Discovery expect it: an https URL with a host and no query,
 * fragment or credentials (OIDC Discovery 1.0 §3). Relying parties compare the
 * token's `iss` claim with the discovery document's `issuer` character for
 * character, so the value is taken as written and never normalised.
 */
export function checkJwtIssuer(value: string): Problem | undefined {
  const fix = 'write the public URL the issuer is reached at, e.g. "https://oidc.example.org"';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { value, rule: 'it is not an absolute URL', fix };
  }
  if (url.protocol !== 'https:') {
    return { value, rule: 'OpenID Connect relying parties (cloud IAM among them) accept only an https issuer', fix };
  }
  if (url.hostname === '') {
    return { value, rule: 'the issuer URL has no host', fix };
  }
  if (url.username !== '' || url.password !== '') {
    return { value, rule: 'an issuer URL carries no credentials', fix };
  }
  // The discovery provider matches request hosts against its domains as written, in punycode.
  if (!value.startsWith(`https://${url.host}`)) {
    return { value, rule: 'the issuer host is written in lowercase ASCII (punycode for international names)', fix };
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    return { value, rule: 'an issuer URL has no query or fragment', fix };
  }
  return undefined;
}

/** The host (without port) of an issuer URL that checkJwtIssuer accepts. */
export function jwtIssuerHost(value: string): string {
  return new URL(value).hostname;
}
