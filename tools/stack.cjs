// The distributed stack on this machine: the four services as separate processes against
// the real PostgreSQL, Redis, RabbitMQ and Kafka. `npm run start:stack` runs it in the
// foreground; the stack tests and the benchmark start it through startStack().
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const { Client } = require('pg');

const root = path.resolve(__dirname, '..');

/** A one-key ring in the format of WEFT_SECRET_KEY (libs/secrets). */
const newSecretKey = () => `k1:${randomBytes(32).toString('base64')}`;
const SERVICES = ['workflow', 'integration', 'ai', 'gateway'];

/** Creates the stack's database on the machine's PostgreSQL when it does not exist yet. */
async function ensureDatabase(serverUrl, name) {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

async function waitReady(url, deadline, child) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready in time`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Starts the four services and resolves when every /ready answers 200.
 * @param {{ basePort?: number, database?: string, adminKey?: string, secretKey?: string,
 *           env?: Record<string,string>,
 *           onOutput?: (service: string, line: string) => void, timeoutMs?: number }} options
 */
async function startStack(options = {}) {
  const basePort = options.basePort ?? 3000;
  const database = options.database ?? 'weft';
  const serverUrl = process.env.WEFT_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  await ensureDatabase(serverUrl, database);
  const adminKey = options.adminKey ?? `wa_${randomBytes(24).toString('base64url')}`;
  const ports = {
    gateway: basePort,
    workflow: basePort + 1,
    integration: basePort + 2,
    ai: basePort + 3,
  };
  const env = {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? serverUrl.replace(/\/[^/]*$/, `/${database}`),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    WEFT_ADMIN_KEY: adminKey,
    // Integration seals credentials with it and both workers open them, so they share one.
    WEFT_SECRET_KEY: options.secretKey ?? process.env.WEFT_SECRET_KEY ?? newSecretKey(),
    ...options.env,
  };
  const children = {};
  for (const service of SERVICES) {
    const child = spawn(process.execPath, [path.join(root, 'apps', service, 'dist', 'main.js')], {
      env: { ...env, PORT: String(ports[service]) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forward = (chunk) => {
      for (const line of chunk.toString().split('\n')) if (line) options.onOutput?.(service, line);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    children[service] = child;
  }
  const stack = {
    adminKey,
    ports,
    children,
    gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
    /** Sends SIGTERM to every service and resolves with their exit codes. */
    stop: () =>
      Promise.all(
        SERVICES.map(
          (service) =>
            new Promise((resolve) => {
              const child = children[service];
              if (child.exitCode !== null) return resolve([service, child.exitCode]);
              child.once('exit', (code, signal) => resolve([service, code ?? signal]));
              child.kill('SIGTERM');
            }),
        ),
      ).then(Object.fromEntries),
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  try {
    await Promise.all(
      SERVICES.map((s) => waitReady(`http://127.0.0.1:${ports[s]}/ready`, deadline, children[s])),
    );
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

module.exports = { startStack, SERVICES };

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

if (require.main === module) {
  const basePort = Number(process.env.PORT ?? 3000);
  startStack({
    basePort,
    adminKey: process.env.WEFT_ADMIN_KEY,
    secretKey: process.env.WEFT_SECRET_KEY ?? keptSecretKey(),
    onOutput: (_service, line) => process.stdout.write(`${line}\n`),
  }).then(
    (stack) => {
      process.stdout.write(
        `Weft stack is ready on ${stack.gatewayUrl} (gateway ${stack.ports.gateway}, workflow ${stack.ports.workflow}, ` +
          `integration ${stack.ports.integration}, ai ${stack.ports.ai}; admin key: ${stack.adminKey})\n`,
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
