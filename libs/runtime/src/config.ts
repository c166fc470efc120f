import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's configuration schema. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment into one typed, frozen object. Keys of the schema are the variable
 * names, so an error always names the variable an operator has to fix.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.infer<S>> {
  // Empty strings count as unset, as compose and k8s often pass `VAR=`.
  const defined = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(defined);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map(({ path: [variable, ...inner], message }) => ({
        // The variable itself, even when the problem is inside its parsed value
        // (e.g. the second broker of KAFKA_BROKERS).
        variable: variable === undefined ? '(environment)' : String(variable),
        message: inner.length ? `${message} (at ${inner.join('.')})` : message,
      })),
    );
  }
  return Object.freeze(result.data);
}

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const url = (protocols: readonly string[]) =>
  z.url().refine((value) => protocols.some((p) => value.startsWith(`${p}:`)), {
    message: `must be a ${protocols.join(' or ')} URL`,
  });

/** Variables every service reads; services extend this schema with their own. */
export const serviceEnv = {
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  OTEL_TRACES_EXPORTER: z.enum(['none', 'otlp', 'console']).default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
} as const;

/** Building blocks so that each variable is parsed the same way in every service. */
export const env = {
  port,
  databaseUrl: () => url(['postgres', 'postgresql']),
  redisUrl: () => url(['redis', 'rediss']),
  rabbitmqUrl: () => url(['amqp', 'amqps']),
  kafkaBrokers: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port'))
          .min(1, 'at least one broker'),
      ),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  /**
   * `apply`: the service migrates its schema as it starts. `wait`: something else does (the
   * Kubernetes migration Job, `npm run migrate`), and the service only waits for the result, so
   * a long migration does not run under a start-up probe and replicas never race to it.
   */
  migrations: () => z.enum(['apply', 'wait']).default('apply'),
};

/** How long a service in `WEFT_MIGRATIONS=wait` waits for its schema before it gives up. */
export const DEFAULT_MIGRATIONS_WAIT_MS = 300_000;

/** Variables of the services that own a PostgreSQL schema. */
export const databaseEnv = {
  /** The pool's URL; may point at PgBouncer in transaction mode. */
  DATABASE_URL: env.databaseUrl(),
  /**
   * A session-capable URL (PostgreSQL itself, or PgBouncer in session mode) for migrations,
   * whose advisory lock is held by a session: through a transaction-mode pooler it would be
   * taken and released on connections the migration never uses. Defaults to DATABASE_URL.
   */
  DATABASE_DIRECT_URL: env.databaseUrl().optional(),
  WEFT_MIGRATIONS: env.migrations(),
  WEFT_MIGRATIONS_WAIT_MS: env.positiveInt(DEFAULT_MIGRATIONS_WAIT_MS),
  /**
   * `off` when DATABASE_URL is PgBouncer before 1.21 in transaction mode, which cannot carry
   * named prepared statements (1.21 and later can, with `max_prepared_statements` set).
   */
  DATABASE_PREPARED_STATEMENTS: z.enum(['on', 'off']).default('on'),
} as const;

/**
 * The platform default of a tenant's `concurrentRuns` (0: no limit), which an operator may
 * override per tenant. The engine enforces it; the gateway shows it.
 */
export const concurrentRunsEnv = {
  WEFT_TENANT_CONCURRENT_RUNS: z.coerce.number().int().min(0).max(1_000_000).default(0),
} as const;

/** Variables of the services that use Kafka. */
export const kafkaEnv = {
  KAFKA_BROKERS: env.kafkaBrokers(),
  KAFKA_PARTITIONS: env.positiveInt(12),
  KAFKA_REPLICATION_FACTOR: env.positiveInt(1),
} as const;
