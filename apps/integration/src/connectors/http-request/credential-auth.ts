import {
  hostAllowed,
  parseHostPattern,
  type HostPattern,
  type OpenedCredential,
} from '@weft/contracts';
import { StepFailed } from '@weft/worker';

/** What a credential adds to a request, and where it may go. */
export interface CredentialAuth {
  readonly name: string;
  readonly header: readonly [name: string, value: string];
  /** Undefined for a credential stored before `allowedHosts` existed: any host. */
  readonly allowedHosts?: readonly HostPattern[];
}

export const HTTP_CREDENTIAL_TYPES = ['http.bearer', 'http.basic', 'http.header'] as const;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The header that authenticates with this credential; refuses types http.request cannot use. */
export function authOf(credential: OpenedCredential): CredentialAuth {
  const header = headerOf(credential);
  const hosts = 'allowedHosts' in credential.data ? credential.data.allowedHosts : undefined;
  return {
    name: credential.name,
    header,
    ...(hosts === undefined ? {} : { allowedHosts: hosts.map(parseHostPattern) }),
  };
}

/**
 * Refuses a request, or a redirect of one, to a host outside the credential's `allowedHosts`
 * with `credential_host_denied`, before anything is sent there. `from` is the URL that
 * redirected to `url`, if it is a redirect.
 */
export function checkCredentialHost(auth: CredentialAuth, url: URL, from?: URL): void {
  if (!auth.allowedHosts || hostAllowed(auth.allowedHosts, url)) return;
  const denied = `credential "${auth.name}" may not be sent to ${url.host}, which is not in its allowedHosts`;
  throw new StepFailed(
    'credential_host_denied',
    from ? `${from.origin}${from.pathname} redirects to ${url.host}; ${denied}` : denied,
  );
}

function headerOf(credential: OpenedCredential): readonly [name: string, value: string] {
  const { name } = credential;
  switch (credential.type) {
    case 'http.bearer': {
      const { token } = credential.data;
      checkValue(name, token);
      return ['authorization', `Bearer ${token}`];
    }
    case 'http.basic': {
      const { username, password } = credential.data;
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      return ['authorization', `Basic ${encoded}`];
    }
    case 'http.header': {
      const { name: header, value } = credential.data;
      if (!HEADER_NAME.test(header)) {
        throw new StepFailed(
          'credential_invalid',
          `credential "${name}" names a header that is not a valid HTTP header name`,
        );
      }
      checkValue(name, value);
      return [header.toLowerCase(), value];
    }
    default:
      throw new StepFailed(
        'credential_invalid',
        `credential "${name}" is of type ${credential.type}; http.request takes ${HTTP_CREDENTIAL_TYPES.join(', ')}`,
      );
  }
}

function checkValue(name: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new StepFailed(
      'credential_invalid',
      `credential "${name}" holds line breaks or NUL, which no HTTP header may carry`,
    );
  }
}
