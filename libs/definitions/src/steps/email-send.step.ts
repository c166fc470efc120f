import { z } from 'zod';
import { CredentialRef, ServedBy } from './credential-ref';
import { defineStep } from './define-step';

const Address = z
  .string()
  .min(3)
  .max(320)
  .refine((value) => !/[\r\n\0]/.test(value), { message: 'must not contain line breaks' });
const Addresses = z.union([Address, z.array(Address).min(1).max(100)]);

/**
 * `email.send`: one message over SMTP to the server of an `smtp` credential. Its Message-ID is
 * derived from the step's idempotency key, so a retried attempt sends the same id (receivers
 * and archives can drop the copy). SMTP 4xx answers are retried, 5xx are not.
 */
export const emailSendStep = defineStep({
  type: 'email.send',
  runsOn: 'integration',
  with: z
    .strictObject({
      /** Several names are fallback servers, tried in order. */
      credential: CredentialRef,
      from: Address,
      to: Addresses,
      cc: Addresses.optional(),
      bcc: Addresses.optional(),
      replyTo: Address.optional(),
      subject: z
        .string()
        .max(998)
        .refine((value) => !/[\r\n\0]/.test(value), { message: 'must not contain line breaks' }),
      text: z.string().max(5_000_000).optional(),
      html: z.string().max(5_000_000).optional(),
    })
    .refine((mail) => mail.text !== undefined || mail.html !== undefined, {
      message: 'text or html is required',
    }),
  output: z.object({
    messageId: z.string(),
    accepted: z.array(z.string()),
    rejected: z.array(z.string()),
    credential: ServedBy,
  }),
  errors: [
    'smtp_rejected',
    'connection_failed',
    'circuit_open',
    'egress_denied',
    'credential_not_found',
    'credential_unreadable',
    'credential_invalid',
  ],
});
