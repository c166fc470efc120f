import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { apiClient, ok } from '../api/client';
import { configPath, readConfig, writeConfig } from '../config';

export interface LoginOptions {
  url?: string;
  key?: string;
}

/** Asks on the terminal; the key's characters are not echoed. */
async function ask(question: string, secret = false): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const prompt = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = prompt.question(question);
    muted = secret;
    return (await answer).trim();
  } finally {
    if (secret) process.stdout.write('\n');
    prompt.close();
  }
}

/**
 * `weft login`: URL and key from the flags, else WEFT_URL / WEFT_API_KEY, else asked on a
 * terminal; checked with a GET before they are saved (mode 0600).
 */
export async function login(options: LoginOptions): Promise<void> {
  const path = configPath();
  const saved = readConfig(path);
  const interactive = process.stdin.isTTY && process.stdout.isTTY;
  let url = options.url ?? process.env['WEFT_URL'];
  let apiKey = options.key ?? process.env['WEFT_API_KEY'];
  if (!url && interactive) {
    const fallback = saved.url ?? 'http://127.0.0.1:3000';
    url = (await ask(`Weft URL [${fallback}]: `)) || fallback;
  }
  if (!apiKey && interactive) apiKey = await ask('API key (wk_…): ', true);
  if (!url) throw new Error('no Weft URL: pass --url or set WEFT_URL');
  if (!apiKey) throw new Error('no API key: pass --key or set WEFT_API_KEY');
  try {
    new URL(url);
  } catch {
    throw new Error(`${url} is not a URL (e.g. http://127.0.0.1:3000)`);
  }
  // Any authenticated GET tells a valid key from a refused one; a read-only key passes too.
  await ok(apiClient({ url, apiKey }).GET('/v1/workflows', { params: { query: { limit: 1 } } }));
  writeConfig(path, { url, apiKey });
  console.log(`Logged in to ${url}; saved to ${path} (readable by you only)`);
}
