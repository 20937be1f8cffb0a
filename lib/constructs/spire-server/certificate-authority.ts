import { checkCaSubject } from '../../config/key-manager';
import { checkJwtIssuer } from '../../validation/jwt-issuer';
import { checkGoDuration } from '../../validation/rules';
import { Check } from '../../validation/validate';
import { SpireServerOptions } from './options';
import { ServerContribution, ServerPart } from './part';

/**
 * The server's CA: its lifetime, key type and subject, and the SVIDs it
 * signs, X.509 and JWT: their default lifetimes and the JWT issuer.
 */
export class CertificateAuthority implements ServerPart {
  /** Lifetime of the signing CA (Go duration). */
  public readonly caTtl: string;
  /** Default lifetime of X.509 SVIDs (Go duration). */
  public readonly x509SvidTtl: string;

  constructor(private readonly props: SpireServerOptions) {
    this.caTtl = props.caTtl ?? '24h';
    this.x509SvidTtl = props.x509SvidTtl ?? '1h';
  }

  public bind(): ServerContribution {
    const props = this.props;
    return {
      config: () => ({
        caTtl: this.caTtl,
        x509SvidTtl: this.x509SvidTtl,
        jwtSvidTtl: props.jwtSvidTtl,
        jwtIssuer: props.jwtIssuer,
        caKeyType: props.caKeyType,
        caSubject: props.caSubject,
      }),
      checks: () => [
        ['caTtl', checkGoDuration(this.caTtl)],
        ['x509SvidTtl', checkGoDuration(this.x509SvidTtl)],
        ['jwtSvidTtl', props.jwtSvidTtl === undefined ? undefined : checkGoDuration(props.jwtSvidTtl)],
        ['jwtIssuer', props.jwtIssuer === undefined ? undefined : checkJwtIssuer(props.jwtIssuer)],
        ...(props.caSubject === undefined ? [] : checkCaSubject(props.caSubject)).map((problem): Check => ['caSubject', problem]),
      ],
    };
  }
}
