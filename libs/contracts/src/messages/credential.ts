import { z } from 'zod';
import { AllowedHosts } from '../host-pattern';
import { TenantScoped } from './common';

/**
 * `allowedHosts` of a stored `http.*` credential: optional, so credentials stored before it
 * existed keep working (they may be sent to any host); a new one must have it
 * (`NewCredentialData`).
 */
const storedHosts = { allowedHosts: AllowedHosts.optional() };

/**
 * Credential types of SPEC §2 and the fields of each, as stored and opened; every field is a
 * secret at rest (sealed with the rest, so `allowedHosts` cannot be changed without the key).
 */
export const CredentialData = {
  'http.bearer': z.strictObject({ token: z.string().min(1), ...storedHosts }),
  'http.basic': z.strictObject({
    username: z.string().min(1),
    password: z.string(),
    ...storedHosts,
  }),
  'http.header': z.strictObject({
    name: z.string().min(1),
    value: z.string().min(1),
    ...storedHosts,
  }),
  hmac: z.strictObject({ secret: z.string().min(16) }),
  smtp: z.strictObject({
    host: z.string().min(1),
    port: z.int().min(1).max(65535),
    secure: z.boolean().default(false),
    username: z.string().optional(),
    password: z.string().optional(),
  }),
  openai: z.strictObject({ baseUrl: z.url(), apiKey: z.string().min(1) }),
  anthropic: z.strictObject({ apiKey: z.string().min(1), baseUrl: z.url().optional() }),
  postgres: z.strictObject({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres URL'),
  }),
  kafka: z.strictObject({
    brokers: z.array(z.string().min(1)).min(1),
    sasl: z
      .strictObject({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
        username: z.string(),
        password: z.string(),
      })
      .optional(),
  }),
  rabbitmq: z.strictObject({ url: z.string().regex(/^amqps?:\/\//, 'must be an amqp URL') }),
} as const;
export type CredentialType = keyof typeof CredentialData;
export const CredentialTypes = Object.keys(CredentialData) as [CredentialType, ...CredentialType[]];

/** The credential types a step sends to a host of the step's choosing, bound by `allowedHosts`. */
export const HOST_BOUND_CREDENTIAL_TYPES = ['http.bearer', 'http.basic', 'http.header'] as const;

const requiredHosts = { allowedHosts: AllowedHosts };

/**
 * What a new credential's `data` must be: as stored, except that an `http.*` credential must
 * name its `allowedHosts`.
 */
export const NewCredentialData = {
  ...CredentialData,
  'http.bearer': CredentialData['http.bearer'].extend(requiredHosts),
  'http.basic': CredentialData['http.basic'].extend(requiredHosts),
  'http.header': CredentialData['http.header'].extend(requiredHosts),
} as const satisfies Record<CredentialType, z.ZodType>;

/** A credential opened by a worker for one attempt: never stored, logged or sent on. */
export type OpenedCredential = {
  [T in CredentialType]: { name: string; type: T; data: z.output<(typeof CredentialData)[T]> };
}[CredentialType];

export const CredentialName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-", at most 100');

/** What the API ever returns of a credential: never its data. */
export const CredentialView = z.object({
  name: z.string(),
  type: z.enum(CredentialTypes),
  createdAt: z.iso.datetime(),
  /** When its data was last replaced (rotation); its creation when never. */
  updatedAt: z.iso.datetime(),
});
export type CredentialView = z.infer<typeof CredentialView>;

export const CreateCredential = TenantScoped.extend({
  name: CredentialName,
  type: z.enum(CredentialTypes),
  data: z.unknown(),
});
export type CreateCredential = z.infer<typeof CreateCredential>;

export const ListCredentials = TenantScoped;
export type ListCredentials = z.infer<typeof ListCredentials>;
export const CredentialList = z.object({ items: z.array(CredentialView) });
export type CredentialList = z.infer<typeof CredentialList>;

/** Replaces a credential's data (rotation); its type stays. */
export const UpdateCredential = TenantScoped.extend({ name: CredentialName, data: z.unknown() });
export type UpdateCredential = z.infer<typeof UpdateCredential>;

export const DeleteCredential = TenantScoped.extend({ name: CredentialName });
export type DeleteCredential = z.infer<typeof DeleteCredential>;

/**
 * A worker's request for credentials it will decrypt itself: the vault answers ciphertext
 * (AES-256-GCM envelopes under a key id), so a secret crosses no queue in clear.
 */
export const ResolveCredentials = TenantScoped.extend({
  names: z.array(CredentialName).min(1).max(10),
});
export type ResolveCredentials = z.infer<typeof ResolveCredentials>;
export const SealedCredential = z.object({
  name: z.string(),
  type: z.enum(CredentialTypes),
  sealed: z.string(),
});
export type SealedCredential = z.infer<typeof SealedCredential>;
export const ResolvedCredentials = z.object({ items: z.array(SealedCredential) });
export type ResolvedCredentials = z.infer<typeof ResolvedCredentials>;

/**
 * The gateway's request to check a signed webhook delivery against the tenant's `hmac`
 * credential: the vault verifies, so the secret never leaves it. Headers are passed as
 * received (absent when not sent); the body is the raw bytes in base64, since the signature
 * covers bytes that need not be UTF-8.
 */
export const VerifyWebhook = TenantScoped.extend({
  credential: CredentialName,
  timestamp: z.string().max(100).optional(),
  signature: z.string().max(200).optional(),
  body: z.base64(),
});
export type VerifyWebhook = z.infer<typeof VerifyWebhook>;
/**
 * Why a delivery was refused, for logs and metrics; the gateway answers 401 to each alike.
 * `credential_not_found` / `credential_invalid`: the trigger names a credential the tenant
 * lacks, one that is not `hmac`, or one that does not open.
 */
export const WebhookVerification = z.object({
  ok: z.boolean(),
  reason: z
    .enum([
      'missing',
      'malformed',
      'stale',
      'mismatch',
      'credential_not_found',
      'credential_invalid',
    ])
    .optional(),
});
export type WebhookVerification = z.infer<typeof WebhookVerification>;
