import { z } from 'zod';
import { databaseEnv, env, kafkaEnv, serviceEnv } from '@weft/runtime';
import { DEFAULT_LOAD_SHEDDING } from './http/load-shedding';
import { DEFAULT_LIMITS } from './limits';
import { requestLogEnv } from './http/request-log';
import { tenantLimitEnv } from './tenants/tenant-limits';

export const defaultPort = 3000;

/** The gateway's environment; each key is the variable's name. */
export const configSchema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  PORT: env.port(defaultPort),
  ...databaseEnv,
  /**
   * A streaming read replica for reads that may lag: run lists, through the workflow service's
   * published functions (ADR 0021). The primary when unset; a run by id always reads the primary.
   */
  DATABASE_READ_URL: env.databaseUrl().optional(),
  REDIS_URL: env.redisUrl(),
  RABBITMQ_URL: env.rabbitmqUrl(),
  WEFT_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  RPC_TIMEOUT_MS: env.positiveInt(5_000),
  // Several gateway processes on one host share PORT (SO_REUSEPORT; tools/stack.cjs replicas).
  // Off, a second process on the port fails with EADDRINUSE, which catches a mistake.
  GATEWAY_SHARE_PORT: z.stringbool().default(false),
  // Load shedding (http/load-shedding.ts): over these, requests are answered 503 + Retry-After.
  GATEWAY_MAX_IN_FLIGHT: env.positiveInt(DEFAULT_LOAD_SHEDDING.maxInFlight),
  GATEWAY_MAX_PENDING: env.positiveInt(DEFAULT_LOAD_SHEDDING.maxPending),
  GATEWAY_MAX_EVENT_LOOP_DELAY_MS: z.coerce
    .number()
    .int()
    .min(0, 'must be 0 (off) or a number of milliseconds')
    .default(DEFAULT_LOAD_SHEDDING.maxEventLoopDelayMs),
  GATEWAY_MAX_SHED_ANSWER_DELAY_MS: z.coerce
    .number()
    .int()
    .min(0, 'must be 0 (answer at once) or a number of milliseconds')
    .default(DEFAULT_LOAD_SHEDDING.maxShedAnswerDelayMs),
  // The edge against slow and hostile clients (limits.ts).
  GATEWAY_REQUEST_TIMEOUT_MS: env.positiveInt(DEFAULT_LIMITS.requestTimeoutMs),
  GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: z.coerce
    .number()
    .int()
    .min(0, 'must be 0 (no cap) or a number of connections')
    .default(DEFAULT_LIMITS.maxConnectionsPerAddress),
  GATEWAY_MAX_EVENT_STREAMS_PER_TENANT: env.positiveInt(DEFAULT_LIMITS.maxEventStreamsPerTenant),
  // One log line per request (http/request-log.ts).
  ...requestLogEnv,
  // Tenants' limits where a tenant has none of its own (PATCH /v1/tenants/{id}).
  ...tenantLimitEnv,
});
export type GatewayConfig = z.infer<typeof configSchema>;
