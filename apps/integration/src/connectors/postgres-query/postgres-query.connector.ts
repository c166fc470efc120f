import { credentialNames, postgresQueryStep } from '@weft/definitions';
import type { EgressGuard } from '@weft/egress';
import { defineConnector, StepFailed } from '@weft/worker';
import { Pool, type PoolClient } from 'pg';
import { ClientPool, credentialOfType, digest, egressDenial } from '../broker-clients';

/** Connections a tenant's database gets from one worker process, at most. */
const POOL_SIZE = 2;

/**
 * `postgres.query`: a small pool per credential (closed when idle), connecting to the address
 * the egress guard checked. Each statement runs in its own transaction under
 * `statement_timeout`; rows come back JSON-safe and capped at `maxRows`.
 */
export function postgresQueryConnector() {
  const pools = new ClientPool<Pool>((pool) => pool.end());
  const connector = defineConnector(postgresQueryStep, async (input, context) => {
    const timeoutMs = input.timeoutMs ?? context.timeoutMs;
    const served = await context.fallback(credentialNames(input.credential), async (opened) => {
      const credential = credentialOfType(opened, 'postgres');
      const key = `${context.tenantId}:${credential.name}:${digest(credential.data)}`;
      try {
        return await pools.use(
          key,
          () => openPool(credential.data.url, context.egress),
          async (pool) => {
            const client = await pool.connect();
            try {
              return await run(client, input.sql, input.params, input.maxRows, timeoutMs);
            } finally {
              client.release();
            }
          },
        );
      } catch (error) {
        throw queryFailure(error);
      }
    });
    return { ...served.value, credential: served.credential };
  });
  return Object.freeze({ ...connector, close: () => pools.closeAll() });
}

async function run(
  client: PoolClient,
  sql: string,
  params: unknown[],
  maxRows: number,
  timeoutMs: number,
) {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)]);
    const result = await client.query({ text: sql, values: params.map(paramOf) });
    await client.query('COMMIT');
    const rows = (result.rows as Record<string, unknown>[]).slice(0, maxRows);
    return {
      rows: rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([name, value]) => [name, jsonSafe(value)])),
      ),
      rowCount: result.rowCount,
      truncated: result.rows.length > maxRows,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Objects and arrays go as JSON (for json/jsonb parameters); scalars as they are. */
const paramOf = (value: unknown) =>
  value !== null && typeof value === 'object' ? JSON.stringify(value) : value;

/** A column's value as JSON can carry it: timestamps ISO, bytea base64, bigint as text. */
function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  return value;
}

async function openPool(url: string, egress: EgressGuard): Promise<Pool> {
  const parsed = new URL(url);
  const host = decodeURIComponent(parsed.hostname).replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || 5432);
  const [address] = await egress.admit(host, `postgres ${host}:${port}`, port);
  const sslmode = parsed.searchParams.get('sslmode');
  const pool = new Pool({
    host: address!.address,
    port,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
    ...(sslmode && sslmode !== 'disable'
      ? { ssl: { servername: host, rejectUnauthorized: sslmode === 'verify-full' } }
      : {}),
    max: POOL_SIZE,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    application_name: 'weft postgres.query',
  });
  pool.on('error', () => undefined);
  return pool;
}

/** SQLSTATEs worth another try: a serialization failure, a deadlock. */
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01']);

function queryFailure(error: unknown): StepFailed {
  if (error instanceof StepFailed) return error;
  const denied = egressDenial(error);
  if (denied) return new StepFailed('egress_denied', denied.message);
  const { code, message } = error as { code?: string; message?: string };
  if (code === '57014') return new StepFailed('timeout', 'the statement ran past its timeoutMs');
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return new StepFailed('query_failed', `${code}: ${message ?? ''}`.slice(0, 1000), {
      retryable: RETRYABLE_SQLSTATE.has(code),
    });
  }
  return new StepFailed('connection_failed', String(message ?? error).slice(0, 1000), {
    retryable: true,
  });
}
