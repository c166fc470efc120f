/** A credential a connector asked for that cannot be used; the message names it, never its data. */
export class CredentialUnavailable extends Error {
  override readonly name = 'CredentialUnavailable';
  constructor(
    /** `not_found`: the tenant has no credential of that name; `unreadable`: it does not decrypt. */
    readonly reason: 'not_found' | 'unreadable',
    readonly credentialName: string,
    message: string,
  ) {
    super(message);
  }
}
