// The distributed stack on this machine: the four services as separate processes against
// the real PostgreSQL, Redis, RabbitMQ and Kafka. `npm run start:stack` runs it in the
// foreground; the stack tests and the benchmark start it through startStack().
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const { Client } = require('pg');

const root = path.resolve(__dirname, '..');

/** A one-key ring in the format of WEFT_SECRET_KEY (libs/secrets). */
const newSecretKey = () => `k1:${randomBytes(32).toString('base64')}`;
const SERVICES = ['workflow', 'integration', 'ai', 'gateway'];
/**
 * Node flags of each service process, as its image runs it (its Dockerfile CMD; a test keeps
 * the two equal). The old space is capped: V8 otherwise grows the heap lazily to 400-800 MiB
 * under load; at 256 MiB the engine's throughput is unchanged and each service stays near
 * 300 MiB (ADR 0009). The gateway gets 512 MiB: it holds its clients' connections, ~10 KiB of
 * live heap each, and at 10,000 of them a 256 MiB cap had V8 mark the whole heap every 0.2 s:
 * the gateway's CPU doubled and answers to a burst came late (ADR 0010).
 *
 * The young generation is set too. Left to V8, its semi-spaces follow the memory the process
 * sees: 64 MiB each on a 24 GiB host (up to 128 MiB resident beside the old space), 1 MiB in a
 * 384Mi pod, so the benchmark measured another process than the image runs. At 16 MiB the
 * stack's CPU per run and per read is what it was at 64, each service ~75-100 MiB smaller, and
 * a pod's heap limit still leaves room below its memory limit (ADR 0030).
 */
const YOUNG = '--max-semi-space-size=16';
const SERVICE_NODE_FLAGS = {
  workflow: ['--max-old-space-size=256', YOUNG],
  integration: ['--max-old-space-size=256', YOUNG],
  ai: ['--max-old-space-size=256', YOUNG],
  gateway: ['--max-old-space-size=512', YOUNG],
};

/**
 * With a directory (`cpuProfileDir`, else `WEFT_CPU_PROF_DIR`), each service writes a V8 CPU
 * profile there when it exits (summarise one with tools/cpu-profile-summary.cjs;
 * docs/performance.md).
 */
const profiling = (service, dir = process.env.WEFT_CPU_PROF_DIR) => {
  if (!dir) return [];
  const name = `${service.replace('#', '-')}-${Date.now()}-${process.pid}.cpuprofile`;
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`];
};

const serverUrl = () =>
  process.env.WEFT_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs `work` with a client of the machine's PostgreSQL server (its `postgres` database). */
async function withServer(work) {
  const client = new Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the stack's database on the machine's PostgreSQL when it does not exist yet. */
function ensureDatabase(name) {
  return withServer(async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  });
}

/** Drops a stack's database, so the next start begins with no runs left to resume. */
function dropDatabase(name) {
  return withServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * Queues named `prefix…` that have consumers on this machine's RabbitMQ, as "name (n consumers)".
 * Every stack on one machine shares queue and topic names, so another stack's processes would
 * take this one's work; benchmarks and the fault suite check this first. Empty when rabbitmqctl
 * is not available (cannot tell).
 */
function queuesWithConsumers(prefix) {
  try {
    const listing = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name', 'consumers'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return listing
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([name, consumers]) => name?.startsWith(prefix) && Number(consumers) > 0)
      .map(([name, consumers]) => `${name} (${consumers} consumers)`);
  } catch {
    return [];
  }
}

/**
 * Whether process `pid` has a listening TCP socket on `port`, from Linux's /proc: the
 * listening sockets' inodes in /proc/net/tcp{,6} against the process's open descriptors.
 * How a process on a shared port (SO_REUSEPORT) is told apart from the others, whichever
 * of them answers a request. True where /proc is not there to ask.
 */
function listensOn(pid, port) {
  const fs = require('node:fs');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  try {
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // local_address is "ADDR:PORT"; state 0A is LISTEN; the inode is field 9.
        if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9]);
      }
    }
    return fs
      .readdirSync(`/proc/${pid}/fd`)
      .some((fd) =>
        inodes.has(/^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`))?.[1]),
      );
  } catch (error) {
    return error.code === 'ENOENT' && !fs.existsSync('/proc/net/tcp');
  }
}

function safeReadlink(file) {
  try {
    return require('node:fs').readlinkSync(file);
  } catch {
    return '';
  }
}

/**
 * Resolves once `url` answers 200 from `child`. A process on a shared port (`sharedPort`)
 * cannot be told apart by the URL alone, which another process may answer, so it must also
 * be listening on the port itself.
 */
async function waitReady(url, deadline, child) {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const last = (child.lastLines ?? []).slice(-5).join('\n');
      throw new Error(
        `${url}: process exited with ${child.exitCode ?? child.signalCode}` +
          (last ? `; its last lines:\n${last}` : ''),
      );
    }
    const own = child.sharedPort === undefined || listensOn(child.pid, child.sharedPort);
    try {
      const response = own && (await fetch(url, { signal: AbortSignal.timeout(2_000) }));
      if (response && response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready in time`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Each service's port offset from `basePort`; replica r ≥ 2 adds 4 × (r − 1) (see portOf). */
const PORT_OFFSETS = { gateway: 0, workflow: 1, integration: 2, ai: 3 };

/**
 * The port of a service's process: `workflow` or a replica such as `workflow#2`. Gateways all
 * share `basePort` (SO_REUSEPORT, `GATEWAY_SHARE_PORT`): the kernel spreads new connections
 * over the live ones, so a client that retries a reset connection reaches a survivor when one
 * is killed. Every other replica has a port of its own for /ready and /metrics.
 */
function portOf(basePort, name) {
  const [app, replica] = name.split('#');
  if (app === 'gateway') return basePort;
  return basePort + PORT_OFFSETS[app] + 4 * (Number(replica ?? 1) - 1);
}

/** `replicas` as a count per service: a number is every service's count. */
function replicaCounts(replicas) {
  const counts = {};
  for (const service of SERVICES) {
    counts[service] = typeof replicas === 'number' ? replicas : (replicas?.[service] ?? 1);
    if (!Number.isInteger(counts[service]) || counts[service] < 1) {
      throw new Error(`replicas of ${service}: ${counts[service]} is not a count ≥ 1`);
    }
  }
  return counts;
}

/**
 * Starts the four services and resolves when every /ready answers 200. The stack can also
 * kill one service with a signal and start it again on the same port and environment, which
 * is what the fault-injection suite does (tests/faults). With `restartOnExit` it supervises
 * them as an orchestrator would: a process that exits unasked (a crash, or a service exiting
 * for a clean restart after losing a broker connection) is started again after a back-off.
 * @param {{ basePort?: number, database?: string, adminKey?: string, secretKey?: string,
 *           env?: Record<string,string>,
 *           onOutput?: (service: string, line: string) => void,
 *           onExit?: (service: string, code: number | null, signal: string | null,
 *                     asked: boolean) => void,
 *           restartOnExit?: boolean, timeoutMs?: number,
 *           replicas?: number | Partial<Record<string, number>>,
 *           pgbouncer?: boolean, readReplica?: boolean, cpuProfileDir?: string }} options
 * `replicas` (default 1) runs N processes of every service (a number) or of some (an object);
 * the second and later are named `workflow#2`…, and share the database, queues and the Kafka
 * consumer group like any replicas. `pgbouncer` sends the services' pooled connections through
 * the machine's PgBouncer (infra.sh, transaction mode) and migrations straight to PostgreSQL.
 * `readReplica` points the gateways' run lists at the machine's streaming replica
 * (`infra.sh up --replica`, DATABASE_READ_URL).
 */
async function startStack(options = {}) {
  const basePort = options.basePort ?? 3000;
  const database = options.database ?? 'weft';
  await ensureDatabase(database);
  const adminKey = options.adminKey ?? `wa_${randomBytes(24).toString('base64url')}`;
  const counts = replicaCounts(options.replicas);
  // The engines first: the gateway's first requests go to them.
  const services = SERVICES.flatMap((service) =>
    Array.from({ length: counts[service] }, (_, i) => (i === 0 ? service : `${service}#${i + 1}`)),
  );
  const ports = Object.fromEntries(services.map((name) => [name, portOf(basePort, name)]));
  const directUrl =
    process.env.DATABASE_DIRECT_URL ??
    process.env.DATABASE_URL ??
    serverUrl().replace(/\/[^/]*$/, `/${database}`);
  const pooledUrl = options.pgbouncer ? pgbouncerUrl(database) : directUrl;
  const env = {
    ...process.env,
    DATABASE_URL: pooledUrl,
    DATABASE_DIRECT_URL: directUrl,
    // The machine's PgBouncer is Debian's 1.18, which cannot carry named prepared statements.
    ...(options.pgbouncer ? { DATABASE_PREPARED_STATEMENTS: 'off' } : {}),
    ...(options.readReplica ? { DATABASE_READ_URL: replicaUrl(database) } : {}),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    WEFT_ADMIN_KEY: adminKey,
    // Approval links point at this stack's gateway.
    WEFT_PUBLIC_URL: `http://127.0.0.1:${basePort}`,
    // Integration seals credentials with it and both workers open them, so they share one.
    WEFT_SECRET_KEY: options.secretKey ?? process.env.WEFT_SECRET_KEY ?? newSecretKey(),
    ...(counts.gateway > 1 ? { GATEWAY_SHARE_PORT: 'true' } : {}),
    ...options.env,
  };
  return supervise(services, ports, adminKey, env, {
    ...options,
    portOf: (name) => portOf(basePort, name),
    sharedPort: counts.gateway > 1 ? (name) => name.startsWith('gateway') : undefined,
  });
}

/** The machine's streaming replica of the server (tools/infra/replica.sh). */
function replicaUrl(database) {
  return `postgres://postgres@127.0.0.1:${process.env.WEFT_REPLICA_PORT ?? '5433'}/${database}`;
}

/** The machine's PgBouncer (tools/infra/pgbouncer.sh), in front of the same server. */
function pgbouncerUrl(database) {
  const port = process.env.WEFT_PGBOUNCER_PORT ?? '6432';
  return `postgres://postgres@127.0.0.1:${port}/${database}`;
}

/**
 * Starts standalone mode (`apps/standalone`, the whole platform in one process on an embedded
 * PostgreSQL kept in `dataDir`) under the same supervision as the stack: one "service",
 * `standalone`, that can be killed and started again on its port and data folder.
 * @param {{ dataDir: string, basePort?: number, adminKey?: string,
 *           env?: Record<string,string>,
 *           onOutput?: (service: string, line: string) => void,
 *           onExit?: (service: string, code: number | null, signal: string | null,
 *                     asked: boolean) => void,
 *           restartOnExit?: boolean, timeoutMs?: number }} options
 */
async function startStandalone(options) {
  const adminKey = options.adminKey ?? `wa_${randomBytes(24).toString('base64url')}`;
  const env = {
    ...process.env,
    WEFT_DATA_DIR: options.dataDir,
    WEFT_ADMIN_KEY: adminKey,
    ...options.env,
  };
  return supervise(
    ['standalone'],
    { standalone: options.basePort ?? 3000 },
    adminKey,
    env,
    options,
  );
}

/** Runs `services` as child processes (`apps/<service>/dist/main.js`), watched as described above. */
async function supervise(services, ports, adminKey, env, options) {
  const timeoutMs = options.timeoutMs ?? 60_000;
  /** The current process of each service; a restart replaces it. */
  const children = {};
  /** Services being killed or stopped on purpose, which the supervision leaves alone. */
  const asked = new Set();
  /** Pending restarts after an unasked exit, and how many in a row each service needed. */
  const restarts = {};
  const crashes = {};
  let stopping = false;
  const alive = (service) => {
    const child = children[service];
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  };
  const superviseExit = (service, code, signal) => {
    const wasAsked = asked.has(service);
    options.onExit?.(service, code, signal, wasAsked);
    if (wasAsked || stopping || !options.restartOnExit || restarts[service]) return;
    crashes[service] = (crashes[service] ?? 0) + 1;
    restarts[service] = setTimeout(
      () => {
        delete restarts[service];
        if (stopping || alive(service)) return;
        const child = spawnService(service);
        // A start that gets ready resets the back-off; one that exits is supervised again.
        waitReady(`http://127.0.0.1:${ports[service]}/ready`, Date.now() + timeoutMs, child).then(
          () => (crashes[service] = 0),
          () => undefined,
        );
      },
      Math.min(5_000, 250 * 2 ** crashes[service]),
    );
  };
  const spawnService = (service) => {
    // A replica (`workflow#2`) runs its service's app.
    const app = service.split('#')[0];
    const main = path.join(root, 'apps', app, 'dist', 'main.js');
    const child = spawn(
      process.execPath,
      [...(SERVICE_NODE_FLAGS[app] ?? []), ...profiling(service, options.cpuProfileDir), main],
      {
        env: { ...env, PORT: String(ports[service]) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (options.sharedPort?.(service)) child.sharedPort = ports[service];
    // The last lines are kept so that a process that dies while starting says why.
    child.lastLines = [];
    const forward = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        child.lastLines.push(line);
        if (child.lastLines.length > 20) child.lastLines.shift();
        options.onOutput?.(service, line);
      }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.once('exit', (code, signal) => superviseExit(service, code, signal));
    children[service] = child;
    return child;
  };
  /** Resolves with the exit code (or the signal's name) once the service's process is gone. */
  const kill = (service, signal = 'SIGKILL') =>
    new Promise((resolve) => {
      clearTimeout(restarts[service]);
      delete restarts[service];
      const child = children[service];
      if (!alive(service)) return resolve(child?.exitCode ?? child?.signalCode ?? null);
      asked.add(service);
      child.once('exit', (code, exitSignal) => {
        asked.delete(service);
        resolve(code ?? exitSignal);
      });
      child.kill(signal);
    });
  /** Starts the service when its process is not running, and resolves once it is ready. */
  const start = async (service, startOptions = {}) => {
    clearTimeout(restarts[service]);
    delete restarts[service];
    const child = alive(service) ? children[service] : spawnService(service);
    const deadline = Date.now() + (startOptions.timeoutMs ?? timeoutMs);
    await waitReady(`http://127.0.0.1:${ports[service]}/ready`, deadline, child);
  };
  /** Whether the service's own process answers /ready (see waitReady). */
  const ready = async (service) => {
    const child = children[service];
    if (!alive(service)) return false;
    if (child.sharedPort !== undefined && !listensOn(child.pid, child.sharedPort)) return false;
    try {
      const url = `http://127.0.0.1:${ports[service]}/ready`;
      return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      return false;
    }
  };
  const stack = {
    adminKey,
    services,
    ports,
    children,
    gatewayUrl: `http://127.0.0.1:${ports.gateway ?? ports.standalone}`,
    isRunning: alive,
    ready,
    kill,
    start,
    /**
     * A scale-out event: starts one more process of `app` (named `app#n`, with the next free
     * replica number) and resolves with its name once it is ready.
     */
    add: async (app) => {
      let n = 2;
      while (services.includes(`${app}#${n}`)) n++;
      const name = `${app}#${n}`;
      if (!options.portOf) throw new Error('this stack cannot add replicas');
      ports[name] = options.portOf(name);
      services.push(name);
      await start(name);
      return name;
    },
    /**
     * A scale-in event: stops the process with SIGTERM, as an orchestrator removing a replica
     * does (it finishes or hands back its work), and forgets it. Resolves with its exit code.
     */
    remove: async (service) => {
      const code = await kill(service, 'SIGTERM');
      services.splice(services.indexOf(service), 1);
      delete ports[service];
      return code;
    },
    /** Stops the service with `signal` (SIGTERM by default), then starts it again. */
    restart: async (service, signal = 'SIGTERM', startOptions = {}) => {
      await kill(service, signal);
      await start(service, startOptions);
    },
    /** Sends SIGTERM to every running service and resolves with each one's exit code. */
    stop: () => {
      stopping = true;
      return Promise.all(
        services.map(async (service) => [service, await kill(service, 'SIGTERM')]),
      ).then(Object.fromEntries);
    },
  };
  for (const service of services) spawnService(service);
  const deadline = Date.now() + timeoutMs;
  try {
    await Promise.all(
      services.map((s) => waitReady(`http://127.0.0.1:${ports[s]}/ready`, deadline, children[s])),
    );
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

module.exports = {
  listensOn,
  startStack,
  startStandalone,
  SERVICES,
  SERVICE_NODE_FLAGS,
  dropDatabase,
  queuesWithConsumers,
  withServer,
};

/** The CLI keeps its key ring in .weft/, so credentials stored by one start open in the next. */
function keptSecretKey() {
  const fs = require('node:fs');
  const file = path.join(root, '.weft', 'stack-secret-key');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const key = newSecretKey();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** `npm run start:stack -- [--replicas N] [--pgbouncer]` */
function cliFlags(argv) {
  const flags = { replicas: 1, pgbouncer: false };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=');
    if (name === '--pgbouncer') flags.pgbouncer = true;
    else if (name === '--replicas') {
      flags.replicas = Number(inline ?? argv[++i]);
      if (!Number.isInteger(flags.replicas) || flags.replicas < 1) {
        throw new Error('--replicas takes a whole number ≥ 1');
      }
    } else throw new Error(`unknown argument ${argv[i]} (--replicas N, --pgbouncer)`);
  }
  return flags;
}

if (require.main === module) {
  const basePort = Number(process.env.PORT ?? 3000);
  startStack({
    ...cliFlags(process.argv.slice(2)),
    basePort,
    adminKey: process.env.WEFT_ADMIN_KEY,
    secretKey: process.env.WEFT_SECRET_KEY ?? keptSecretKey(),
    onOutput: (_service, line) => process.stdout.write(`${line}\n`),
    // A service that exits unasked (e.g. after losing its RabbitMQ connection) comes back.
    restartOnExit: true,
  }).then(
    (stack) => {
      const processes = stack.services.map((name) => `${name} ${stack.ports[name]}`).join(', ');
      process.stdout.write(
        `Weft stack is ready on ${stack.gatewayUrl} (${processes}; admin key: ${stack.adminKey})\n`,
      );
      const stop = () =>
        stack.stop().then((codes) => {
          process.stdout.write(`stack stopped: ${JSON.stringify(codes)}\n`);
          process.exit(Object.values(codes).every((code) => code === 0) ? 0 : 1);
        });
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error) => {
      process.stderr.write(`stack failed to start: ${error.message}\n`);
      process.exit(1);
    },
  );
}
