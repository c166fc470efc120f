import { z } from 'zod';
import { env, kafkaEnv, serviceEnv } from '@weft/runtime';
import { DEFAULT_ENGINE_POLICY } from './engine/transition';

export const defaultPort = 3001;

/** The workflow service's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  PORT: env.port(defaultPort),
  DATABASE_URL: env.databaseUrl(),
  RABBITMQ_URL: env.rabbitmqUrl(),
  /** How long past its timeout a dispatched step attempt may stay silent before it is reaped. */
  WEFT_LEASE_GRACE_MS: env.positiveInt(DEFAULT_ENGINE_POLICY.leaseGraceMs),
});
export type WorkflowConfig = z.infer<typeof configSchema>;
