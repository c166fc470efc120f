export { credentialAad } from './credential-aad';
export { open, reseal, seal } from './envelope';
export { SecretsError, type SecretsErrorCode } from './errors';
export { generateSecretKey, KeyRing, keyRingSchema, parseKeyRing } from './key-ring';
export {
  signWebhook,
  verifyWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_TOLERANCE_S,
  type WebhookDelivery,
  type WebhookRejection,
  type WebhookVerdict,
} from './webhook-signature';
