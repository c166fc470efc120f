import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAdminKey, persistentAdminKey, readSecretFile } from './persistent-secrets';

describe('persistent secrets', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'weft-secrets-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('shows the admin key only on the start that generated it', () => {
    const path = join(dataDir, 'admin-key');
    const generated = persistentAdminKey(dataDir, undefined);
    expect(generated).toMatchObject({ source: 'generated', path });
    expect(readFileSync(path, 'utf8')).toBe(`${generated.value}\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(describeAdminKey(generated)).toBe(`admin key: ${generated.value}, kept in ${path}`);

    const read = persistentAdminKey(dataDir, undefined);
    expect(read).toEqual({ value: generated.value, source: 'file', path });
    expect(describeAdminKey(read)).toBe(`admin key in ${path}`);

    const supplied = persistentAdminKey(dataDir, 'wa_supplied-by-the-operator-0123');
    expect(describeAdminKey(supplied)).toBe('admin key from WEFT_ADMIN_KEY');
  });

  it('makes a secret file readable by its owner only when it finds it looser', () => {
    const path = join(dataDir, 'postgres-password');
    writeFileSync(path, 'secret\n', { mode: 0o644 });
    chmodSync(path, 0o644);
    expect(readSecretFile(path)).toBe('secret');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readSecretFile(join(dataDir, 'missing'))).toBeUndefined();
  });
});
