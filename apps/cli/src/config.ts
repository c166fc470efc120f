import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { Settings } from './api/client';

type Env = Record<string, string | undefined>;

/**
 * Where `weft login` keeps the URL and key: `WEFT_CONFIG` when set, else
 * `$XDG_CONFIG_HOME/weft/config.json` (an absolute XDG_CONFIG_HOME only, as the XDG spec says),
 * else `~/.config/weft/config.json`.
 */
export function configPath(env: Env = process.env): string {
  if (env['WEFT_CONFIG']) return env['WEFT_CONFIG'];
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'weft', 'config.json');
}

/** The saved settings; none when the file does not exist. Throws when it is not readable. */
export function readConfig(path: string): Partial<Settings> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not JSON (${(error as Error).message}); run weft login again`);
  }
  const { url, apiKey } = (value ?? {}) as Record<string, unknown>;
  return {
    ...(typeof url === 'string' && { url }),
    ...(typeof apiKey === 'string' && { apiKey }),
  };
}

/**
 * Saves the settings readable by their owner only (the key is a secret): a new file is created
 * with mode 0600, an existing one is set to 0600 before the key is written into it.
 */
export function writeConfig(path: string, settings: Settings): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify({ url: settings.url, apiKey: settings.apiKey }, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** URL and key: `WEFT_URL` / `WEFT_API_KEY` first, then the config file. */
export function resolveSettings(env: Env = process.env, path = configPath(env)): Settings {
  const saved = readConfig(path);
  const url = env['WEFT_URL'] || saved.url;
  const apiKey = env['WEFT_API_KEY'] || saved.apiKey;
  if (!url || !apiKey) {
    throw new Error(
      `no Weft ${url ? 'API key' : 'URL'}: run \`weft login\`, or set WEFT_URL and WEFT_API_KEY`,
    );
  }
  return { url, apiKey };
}
