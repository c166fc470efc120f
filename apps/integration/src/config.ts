import { z } from 'zod';
import { egressAllowSchema } from '@weft/egress';
import { breakerEnv, DEFAULT_HEARTBEAT_MS } from '@weft/worker';
import { databaseEnv, env, kafkaEnv, serviceEnv } from '@weft/runtime';
import { keyRingSchema } from '@weft/secrets';

export const defaultPort = 3002;

/** The integration service's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  /** Circuit breakers of the providers steps call (fallback credentials). */
  ...breakerEnv,
  PORT: env.port(defaultPort),
  ...databaseEnv,
  RABBITMQ_URL: env.rabbitmqUrl(),
  /** How often a step attempt still running renews its lease in the engine. */
  WEFT_HEARTBEAT_MS: env.positiveInt(DEFAULT_HEARTBEAT_MS),
  TASK_PREFETCH: env.positiveInt(32),
  /** Encrypts credentials at rest; the first key seals, the others open older data. */
  WEFT_SECRET_KEY: keyRingSchema,
  /** Hosts and CIDRs steps may reach despite the SSRF guard. */
  WEFT_EGRESS_ALLOW: egressAllowSchema,
});
export type IntegrationConfig = z.infer<typeof configSchema>;
