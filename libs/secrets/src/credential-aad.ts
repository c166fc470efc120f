/**
 * The additional authenticated data of a credential's envelope: it binds the ciphertext to
 * its tenant and name, so a row copied to another owner does not open. The vault seals with
 * it and every worker that opens a resolved credential passes the same.
 */
export const credentialAad = (tenantId: string, credentialName: string): string =>
  `${tenantId}:${credentialName}`;
