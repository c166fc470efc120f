import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** What `npm start` runs, as built by `npm run build`. */
export const standaloneMain = join(__dirname, '../../apps/standalone/dist/main.js');

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** Starts `npm start`'s program and resolves with its ready line. */
export function startStandalone(env: Record<string, string>): {
  child: ChildProcess;
  ready: Promise<string>;
  output: string[];
} {
  const output: string[] = [];
  const child = spawn(process.execPath, [standaloneMain], {
    env: { ...process.env, WEFT_ADMIN_KEY: '', ...env },
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

/** Stops it as a signal would (SIGTERM) and resolves with its exit code. */
export const stopStandalone = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
