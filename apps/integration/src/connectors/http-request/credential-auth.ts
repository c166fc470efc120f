import type { OpenedCredential } from '@weft/contracts';
import { StepFailed } from '@weft/worker';

/** What a credential adds to a request, and the strings that must never appear in run data. */
export interface CredentialAuth {
  readonly name: string;
  readonly header: readonly [name: string, value: string];
  readonly secrets: readonly string[];
}

export const HTTP_CREDENTIAL_TYPES = ['http.bearer', 'http.basic', 'http.header'] as const;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The header that authenticates with this credential; refuses types http.request cannot use. */
export function authOf(credential: OpenedCredential): CredentialAuth {
  const { name } = credential;
  switch (credential.type) {
    case 'http.bearer': {
      const { token } = credential.data;
      checkValue(name, token);
      return { name, header: ['authorization', `Bearer ${token}`], secrets: [token] };
    }
    case 'http.basic': {
      const { username, password } = credential.data;
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      return {
        name,
        header: ['authorization', `Basic ${encoded}`],
        secrets: [password, encoded],
      };
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
      return { name, header: [header.toLowerCase(), value], secrets: [value] };
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
