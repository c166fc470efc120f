import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../../../tools/stack.cjs';

/** A running Weft to test through its HTTP API only. */
export interface Target {
  baseUrl: string;
  adminKey: string;
  /** `GET /metrics` of every process (one in standalone mode). */
  metricsUrls: string[];
  /** The same by process: `gateway`, `workflow`, `workflow#2`, … or `standalone`. */
  metricsByProcess: Record<string, string>;
  stop(): Promise<void>;
}

export type Mode = 'standalone' | 'stack';

/**
 * Steps may call the suite's loopback servers; the SSRF guard admits loopback only here.
 * Circuit breakers open after 2 failures and probe after 1.5 s, so a test sees both.
 */
const testEnv = {
  WEFT_EGRESS_ALLOW: '127.0.0.1/32',
  LOG_LEVEL: 'warn',
  WEFT_BREAKER_FAILURES: '2',
  WEFT_BREAKER_HALF_OPEN_MS: '1500',
};

export async function startTarget(mode: Mode, port: number): Promise<Target> {
  return mode === 'standalone' ? startStandalone(port) : startDistributed(port);
}

async function startDistributed(port: number): Promise<Target> {
  const output: string[] = [];
  const stack = await startStack({
    basePort: port,
    database: 'weft_test_api',
    // Two engines, as a deployment runs them: schedules must fire once across both. Through
    // PgBouncer in transaction mode, as a deployment at scale runs: nothing may need a session.
    replicas: { workflow: 2 },
    pgbouncer: true,
    env: testEnv,
    onOutput: (service, line) => output.push(`${service}: ${line}`),
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${output.slice(-40).join('\n')}`);
  });
  return {
    baseUrl: stack.gatewayUrl,
    adminKey: stack.adminKey,
    metricsUrls: [...new Set(Object.values(stack.ports))].map(
      (servicePort) => `http://127.0.0.1:${servicePort}/metrics`,
    ),
    metricsByProcess: Object.fromEntries(
      Object.entries(stack.ports).map(([name, servicePort]) => [
        name,
        `http://127.0.0.1:${servicePort}/metrics`,
      ]),
    ),
    stop: async () => {
      await stack.stop();
    },
  };
}

async function startStandalone(port: number): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-api-'));
  // Run as root, the embedded PostgreSQL runs as `postgres`, which must enter the folder.
  chmodSync(dataDir, 0o755);
  const adminKey = `wa_${'k'.repeat(32)}`;
  const child = spawn(
    process.execPath,
    [join(__dirname, '../../../apps/standalone/dist/main.js')],
    {
      env: {
        ...process.env,
        ...testEnv,
        PORT: String(port),
        WEFT_DATA_DIR: dataDir,
        WEFT_ADMIN_KEY: adminKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes('Weft is ready')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`standalone exited with ${code}: ${output.join('')}`)),
    );
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    adminKey,
    metricsUrls: [`http://127.0.0.1:${port}/metrics`],
    metricsByProcess: { standalone: `http://127.0.0.1:${port}/metrics` },
    stop: async () => {
      if (child.exitCode === null) {
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
