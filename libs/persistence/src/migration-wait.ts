import { setTimeout as sleep } from 'node:timers/promises';

/** Runs one SQL query; a TypeORM DataSource's `query` or a test double. */
export type Query = (sql: string, parameters?: unknown[]) => Promise<unknown>;

export interface WaitLog {
  event(level: 'info' | 'warn', message: string, fields?: Record<string, unknown>): void;
}

export interface MigrationWait {
  query: Query;
  /** The service's PostgreSQL schema, which holds its `migrations` table. */
  schema: string;
  /** The migrations this release of the service knows, by name. */
  expected: readonly string[];
  timeoutMs: number;
  /** Pause between two looks at the table. */
  intervalMs?: number;
  log?: WaitLog;
  /** For tests: the clock and the pause. */
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** The schema is not at the version this release needs, and the wait for it ran out. */
export class MigrationsPendingError extends Error {
  override name = 'MigrationsPendingError';
  constructor(
    readonly schema: string,
    readonly pending: readonly string[],
    timeoutMs: number,
  ) {
    super(
      `schema "${schema}" still lacks ${pending.length} migration(s) after ${timeoutMs} ms ` +
        `(WEFT_MIGRATIONS=wait): ${pending.join(', ')}. Run the migrations (the migration Job, ` +
        '`npm run migrate`) with this release, or start one service with WEFT_MIGRATIONS=apply.',
    );
  }
}

// Before the first migration neither the schema nor its table exists; both mean "none applied".
const UNDEFINED_TABLE = '42P01';
const INVALID_SCHEMA_NAME = '3F000';

/** Names of the migrations recorded in the schema's `migrations` table (none if it is absent). */
export async function appliedMigrations(query: Query, schema: string): Promise<string[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  try {
    const rows = (await query(`SELECT name FROM "${schema}"."migrations"`)) as { name: string }[];
    return rows.map((row) => row.name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === UNDEFINED_TABLE || code === INVALID_SCHEMA_NAME) return [];
    throw error;
  }
}

/**
 * Waits until every migration in `expected` is recorded as applied. Reads only, so it is safe
 * through a transaction-mode pooler; migrations the table holds beyond `expected` (a newer
 * release's) do not matter, as migrations stay compatible with the previous release.
 */
export async function waitForMigrations(wait: MigrationWait): Promise<void> {
  const now = wait.now ?? Date.now;
  const pause = wait.sleep ?? sleep;
  const interval = wait.intervalMs ?? 2_000;
  const deadline = now() + wait.timeoutMs;
  let reported = -1;
  for (;;) {
    const applied = new Set(await appliedMigrations(wait.query, wait.schema));
    const pending = wait.expected.filter((name) => !applied.has(name));
    if (pending.length === 0) {
      if (reported >= 0) wait.log?.event('info', 'migrations found', { schema: wait.schema });
      return;
    }
    if (now() >= deadline) throw new MigrationsPendingError(wait.schema, pending, wait.timeoutMs);
    // Logged when the set changes, not on every look.
    if (pending.length !== reported) {
      wait.log?.event('info', 'waiting for migrations', {
        schema: wait.schema,
        pending,
        timeoutMs: wait.timeoutMs,
      });
      reported = pending.length;
    }
    await pause(Math.max(0, Math.min(interval, deadline - now())));
  }
}
