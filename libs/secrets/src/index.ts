export { credentialAad } from './credential-aad';
export { open, seal } from './envelope';
export { SecretsError, type SecretsErrorCode } from './errors';
export { generateSecretKey, KeyRing, keyRingSchema, parseKeyRing } from './key-ring';
