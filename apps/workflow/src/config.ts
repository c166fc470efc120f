import { z } from 'zod';
import { concurrentRunsEnv, databaseEnv, env, kafkaEnv, serviceEnv } from '@weft/runtime';
import { DEFAULT_ENGINE_POLICY } from './engine/transition';
import { DEFAULT_RETENTION_MONTHS } from './runs/run-partitions';

export const defaultPort = 3001;

/** The workflow service's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  PORT: env.port(defaultPort),
  ...databaseEnv,
  RABBITMQ_URL: env.rabbitmqUrl(),
  /** How long past its timeout a dispatched step attempt may stay silent before it is reaped. */
  WEFT_LEASE_GRACE_MS: env.positiveInt(DEFAULT_ENGINE_POLICY.leaseGraceMs),
  /** The gateway's public URL, which approval links point to. */
  WEFT_PUBLIC_URL: z.url().default('http://127.0.0.1:3000'),
  /** Months of runs kept; older month partitions of runs and step runs are dropped. */
  WEFT_RUN_RETENTION_MONTHS: env.positiveInt(DEFAULT_RETENTION_MONTHS),
  ...concurrentRunsEnv,
});
export type WorkflowConfig = z.infer<typeof configSchema>;
