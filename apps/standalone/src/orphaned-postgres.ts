import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonLogger } from '@weft/runtime';

/** How long a fast shutdown may take before the orphan is killed outright. */
const SHUTDOWN_WAIT_MS = 30_000;

/**
 * Stops a PostgreSQL server that a killed standalone process left running on `databaseDir`.
 * PostgreSQL is a child process; `kill -9` of its parent does not end it, and it keeps the
 * cluster's lock file, so the next start would fail. It is stopped only when it is an orphan —
 * its parent is no longer a Node.js process — so a second standalone process started on the
 * same folder by mistake does not take the first one's database away.
 */
export async function stopOrphanedPostgres(databaseDir: string, logger: JsonLogger): Promise<void> {
  const pid = postmasterPid(databaseDir);
  if (pid === undefined || !isPostgres(pid)) return;
  const parent = parentOf(pid);
  if (parent !== undefined && commandOf(parent).includes('node')) return;
  logger.event('warn', 'stopping the PostgreSQL server a killed process left running', {
    pid,
    databaseDir,
  });
  signal(pid, 'SIGINT'); // fast shutdown: its clients died with the old process anyway
  const deadline = Date.now() + SHUTDOWN_WAIT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL'); // crash recovery at the next start makes this safe
      await sleep(500);
      return;
    }
    await sleep(100);
  }
}

/** The server's PID: the first line of `postmaster.pid`, while it exists. */
function postmasterPid(databaseDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A PID in a stale lock file may belong to another program by now. */
const isPostgres = (pid: number): boolean => isAlive(pid) && commandOf(pid).includes('postgres');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // `pid (comm) state ppid …`; comm may hold spaces, so read after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}
