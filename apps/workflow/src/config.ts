import { z } from 'zod';
import { env, kafkaEnv, serviceEnv } from '@weft/runtime';

export const defaultPort = 3001;

/** The workflow service's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  PORT: env.port(defaultPort),
  DATABASE_URL: env.databaseUrl(),
  RABBITMQ_URL: env.rabbitmqUrl(),
});
export type WorkflowConfig = z.infer<typeof configSchema>;
