import { CredentialName } from '@weft/contracts';
import { z } from 'zod';

/** A credential by name, or a list tried in order (fallback providers). */
export const CredentialRef = z.union([CredentialName, z.array(CredentialName).min(1).max(10)], {
  error: 'expected a credential name or a list of 1 to 10 credential names',
});
export type CredentialRef = z.infer<typeof CredentialRef>;

/** The names of a reference, in order, each once. */
export const credentialNames = (ref: CredentialRef | undefined): string[] =>
  ref === undefined ? [] : [...new Set([ref].flat())];

/** The credential that served a step with a credential (of a list, the first that answered). */
export const ServedBy = z.string();
