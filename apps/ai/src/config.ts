import { z } from 'zod';
import { egressAllowSchema } from '@weft/egress';
import { breakerEnv, DEFAULT_HEARTBEAT_MS } from '@weft/worker';
import { databaseEnv, env, kafkaEnv, serviceEnv } from '@weft/runtime';
import { keyRingSchema } from '@weft/secrets';
import { DEFAULT_PROVIDER_TIMEOUT_MS } from './connectors/model-call';

export const defaultPort = 3003;

/** The ai service's environment; each key is the variable's name. */
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
  TASK_PREFETCH: env.positiveInt(8),
  /** Opens the credentials the integration service's vault answers sealed. */
  WEFT_SECRET_KEY: keyRingSchema,
  /** Budget of one provider of an AI step's fallback chain before the next one is tried. */
  AI_PROVIDER_TIMEOUT_MS: env.positiveInt(DEFAULT_PROVIDER_TIMEOUT_MS),
  /** Hosts and CIDRs LLM providers may be reached at despite the SSRF guard. */
  WEFT_EGRESS_ALLOW: egressAllowSchema,
});
export type AiConfig = z.infer<typeof configSchema>;
