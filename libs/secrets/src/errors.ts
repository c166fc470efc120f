/** Why a sealed secret could not be opened; messages never hold key material or plaintext. */
export type SecretsErrorCode = 'malformed' | 'unknown_key' | 'not_authentic';

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
  constructor(
    readonly code: SecretsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
