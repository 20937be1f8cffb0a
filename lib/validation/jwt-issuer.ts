import { Problem } from './rules';

// RFC 3986 path characters that Go's url.URL.String(), which writes the discovery document's
// issuer, repeats as written; it percent-escapes others (spaces, non-ASCII). Written escapes are
// refused too: no issuer path needs them, and they would put two spellings of one path in play.
const PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

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
  if (!value.startsWith('https://')) {
    return { value, rule: 'the issuer URL starts with "https://", in lowercase', fix };
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
  if (!PATH.test(value.slice(`https://${url.host}`.length))) {
    return {
      value,
      rule: 'the issuer path holds only letters, digits, "/" and - . _ ~ ! $ & \' ( ) * + , ; = : @ (no percent escapes): the discovery document percent-escapes other characters while the tokens\' iss keeps them as written',
      fix: 'use a path such as "/tenant-a"',
    };
  }
  return undefined;
}
