import { createDataSource, migrate } from '@weft/persistence';
import { JsonLogger } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { integrationDatabase } from '../src/database';

// Its own variable, not DATABASE_URL: these tests drop and rebuild the integration schema.
const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The integration schema rebuilt from its migrations, in the test database (or `at`). */
export async function freshIntegrationDatabase(at = url): Promise<DataSource> {
  const dataSource = createDataSource(integrationDatabase, { url: at, poolSize: 2 });
  await dataSource.initialize();
  await dataSource.query(`DROP SCHEMA IF EXISTS ${integrationDatabase.schema} CASCADE`);
  await migrate(dataSource, integrationDatabase.schema);
  return dataSource;
}

/** A logger that keeps its lines, so tests can assert on what was (not) logged. */
export function memoryLogger(): { logger: JsonLogger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new JsonLogger('test', 'debug', (line) => lines.push(line)), lines };
}

export async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
