import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPath, readConfig, resolveSettings, writeConfig } from './config';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the config file (weft login)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-cli-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives at WEFT_CONFIG, else under an absolute XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configPath({ WEFT_CONFIG: '/x/weft.json', XDG_CONFIG_HOME: '/xdg' })).toBe(
      '/x/weft.json',
    );
    expect(configPath({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/weft/config.json');
    const home = join(homedir(), '.config/weft/config.json');
    expect(configPath({ XDG_CONFIG_HOME: 'relative' })).toBe(home);
    expect(configPath({})).toBe(home);
  });

  it('is created readable by its owner only, in a directory made for it', () => {
    const path = join(dir, 'nested', 'weft', 'config.json');
    const previous = process.umask(0o000);
    try {
      writeConfig(path, { url: 'http://127.0.0.1:3000', apiKey: 'wk_secret' });
    } finally {
      process.umask(previous);
    }
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, 'nested', 'weft'))).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      url: 'http://127.0.0.1:3000',
      apiKey: 'wk_secret',
    });
  });

  it('is set to 0600 when it existed with a looser mode, and rewritten whole', () => {
    const path = join(dir, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({ url: 'http://old', apiKey: 'wk_old', extra: 'x'.repeat(500) }),
    );
    chmodSync(path, 0o644);
    writeConfig(path, { url: 'http://new', apiKey: 'wk_new' });
    expect(mode(path)).toBe(0o600);
    expect(readConfig(path)).toEqual({ url: 'http://new', apiKey: 'wk_new' });
  });

  it('reads env first, then the file; says what is missing', () => {
    const path = join(dir, 'config.json');
    expect(readConfig(path)).toEqual({});
    expect(() => resolveSettings({}, path)).toThrow(/no Weft URL: run `weft login`/);
    writeConfig(path, { url: 'http://saved', apiKey: 'wk_saved' });
    expect(resolveSettings({}, path)).toEqual({ url: 'http://saved', apiKey: 'wk_saved' });
    expect(resolveSettings({ WEFT_URL: 'http://env' }, path)).toEqual({
      url: 'http://env',
      apiKey: 'wk_saved',
    });
    expect(
      resolveSettings({ WEFT_URL: 'http://env', WEFT_API_KEY: 'wk_env' }, join(dir, 'none')),
    ).toEqual({
      url: 'http://env',
      apiKey: 'wk_env',
    });
    expect(() => resolveSettings({ WEFT_URL: 'http://env' }, join(dir, 'none'))).toThrow(
      /no Weft API key/,
    );
  });

  it('names the file when it is not JSON', () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, '{');
    expect(() => readConfig(path)).toThrow(`${path} is not JSON`);
  });
});
