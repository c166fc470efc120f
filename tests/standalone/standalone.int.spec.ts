import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProbe } from '../support/probe';

const PORT = 3390;
const main = join(__dirname, '../../apps/standalone/dist/main.js');

/** Starts `npm start`'s program and resolves with its ready line. */
function start(dataDir: string): { child: ChildProcess; ready: Promise<string>; output: string[] } {
  const output: string[] = [];
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: String(PORT), WEFT_DATA_DIR: dataDir, WEFT_ADMIN_KEY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const line = output
        .join('')
        .split('\n')
        .find((l) => l.startsWith('Weft is ready'));
      if (line) resolve(line);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output.join('')}`)));
  });
  return { child, ready, output };
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('standalone mode (npm start)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-standalone-'));
  // Run as root, PostgreSQL runs as `postgres`, which must be able to enter the folder.
  chmodSync(dataDir, 0o755);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts with an embedded PostgreSQL, prints one ready line, serves the API and stops cleanly', async () => {
    const first = start(dataDir);
    const line = await first.ready;
    expect(line).toMatch(
      new RegExp(`^Weft is ready on http://127\\.0\\.0\\.1:${PORT} .*admin key: wa_`),
    );
    const adminKey = readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
    expect(line).toContain(adminKey);

    const health = await fetch(`http://127.0.0.1:${PORT}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${PORT}/ready`);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: { ok: true } },
    });
    const probe = await runProbe(`http://127.0.0.1:${PORT}`, adminKey);
    expect(probe.status).toBe('completed');
    expect(await stop(first.child)).toBe(0);

    // A restart finds the same database and the same admin key.
    const second = start(dataDir);
    expect(await second.ready).toContain(adminKey);
    const again = await fetch(`http://127.0.0.1:${PORT}/v1/admin/probes/${probe.probeId}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(await again.json()).toMatchObject({ probeId: probe.probeId, status: 'completed' });
    expect(await stop(second.child)).toBe(0);
  }, 120_000);
});
