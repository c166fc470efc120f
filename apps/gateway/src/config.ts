import { z } from 'zod';
import { env, kafkaEnv, serviceEnv } from '@weft/runtime';

export const defaultPort = 3000;

/** The gateway's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  PORT: env.port(defaultPort),
  DATABASE_URL: env.databaseUrl(),
  REDIS_URL: env.redisUrl(),
  RABBITMQ_URL: env.rabbitmqUrl(),
  WEFT_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  RPC_TIMEOUT_MS: env.positiveInt(5_000),
});
export type GatewayConfig = z.infer<typeof configSchema>;
