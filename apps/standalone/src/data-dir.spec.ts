import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDataDir, DataDirError, type PostgresIdentity } from './data-dir';

describe('checkDataDir', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'weft-data-dir-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const self: PostgresIdentity = { name: 'this process’s user', other: false };
  const postgres = (uid = 4242, gid = 4242): PostgresIdentity => ({
    name: 'postgres',
    uid,
    gid,
    other: true,
  });

  it('creates a missing data folder', () => {
    checkDataDir(join(root, 'a', 'b'), self);
    expect(statSync(join(root, 'a', 'b')).isDirectory()).toBe(true);
  });

  it('names the folder another postgres user cannot enter, its owner and mode', () => {
    chmodSync(root, 0o700);
    const dataDir = join(root, 'weft');
    const { uid, gid } = statSync(root);
    expect(() => checkDataDir(dataDir, postgres())).toThrow(DataDirError);
    expect(() => checkDataDir(dataDir, postgres())).toThrow(
      `WEFT_DATA_DIR ${dataDir} cannot be used: this process runs as root, so the embedded ` +
        `PostgreSQL runs as the OS user postgres (uid 4242), which cannot enter ${root} ` +
        `(owner uid ${uid}, gid ${gid}, mode 0700). Let it through (e.g. chmod o+x ${root}), ` +
        'or choose a WEFT_DATA_DIR under a folder it can reach.',
    );
  });

  it('lets the postgres user through by owner, group or other bits', () => {
    const { uid, gid } = statSync(root);
    chmodSync(root, 0o701);
    checkDataDir(join(root, 'other'), postgres());
    chmodSync(root, 0o710);
    checkDataDir(join(root, 'group'), postgres(4242, gid));
    chmodSync(root, 0o700);
    checkDataDir(join(root, 'owner'), postgres(uid, 4242));
    expect(() => checkDataDir(join(root, 'x'), postgres(4242, gid))).toThrow(/cannot enter/);
  });

  it('refuses a cluster folder owned by another user than the one PostgreSQL runs as', () => {
    chmodSync(root, 0o755);
    mkdirSync(join(root, 'postgres'));
    expect(() => checkDataDir(root, postgres())).toThrow(
      /its PostgreSQL cluster .*postgres belongs to uid \d+, but PostgreSQL runs as the OS user postgres \(uid 4242\)/,
    );
  });

  it('refuses a cluster folder that holds files but no cluster', () => {
    mkdirSync(join(root, 'postgres'));
    writeFileSync(join(root, 'postgres', 'stray'), '');
    expect(() => checkDataDir(root, self)).toThrow(/holds files but no PostgreSQL cluster/);
    writeFileSync(join(root, 'postgres', 'PG_VERSION'), '17\n');
    checkDataDir(root, self);
  });
});
