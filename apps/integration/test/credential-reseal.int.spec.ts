import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { CreateCredential, OpenedCredential } from '@weft/contracts';
import { credentialAad, generateSecretKey, parseKeyRing, seal, type KeyRing } from '@weft/secrets';
import type { DataSource } from 'typeorm';
import { CredentialRepository, type SealedRow } from '../src/credentials/credential.repository';
import { resealCredentials, runCredentialReseal } from '../src/credentials/credential.reseal';
import { CredentialService } from '../src/credentials/credential.service';
import { freshIntegrationDatabase, memoryLogger } from './fixtures';

const server = process.env['WEFT_PG_SERVER_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

type NewCredential = Omit<CreateCredential, 'schemaVersion'>;

describe('credentials:reseal (real PostgreSQL)', () => {
  // A database of this suite's own: the pass reads every tenant's rows.
  const database = `weft_reseal_${randomBytes(4).toString('hex')}`;
  const url = server.replace(/\/[^/]*$/, `/${database}`);
  const k0 = generateSecretKey('k0');
  const k1 = generateSecretKey('k1');
  const { logger } = memoryLogger();
  let dataSource: DataSource;
  const vaultWith = (ring: KeyRing) =>
    new CredentialService(new CredentialRepository(dataSource), ring, logger);
  /** What `npm run credentials:reseal` prints and answers, with this key ring. */
  const reseal = async (ring: string) => {
    const out = { log: [] as string[], error: [] as string[] };
    const code = await runCredentialReseal(
      { DATABASE_URL: url, WEFT_SECRET_KEY: ring },
      { log: (line: string) => out.log.push(line), error: (line: string) => out.error.push(line) },
    );
    return { code, ...out };
  };

  const tenantA = randomUUID();
  const tenantB = randomUUID();
  const credentials: NewCredential[] = [
    {
      tenantId: tenantA,
      name: 'crm-api',
      type: 'http.bearer',
      data: { token: 'tok-a', allowedHosts: ['crm.example.com'] },
    },
    { tenantId: tenantA, name: 'hook', type: 'hmac', data: { secret: 'whsec-0123456789abcdef' } },
    {
      tenantId: tenantA,
      name: 'mail',
      type: 'smtp',
      data: { host: 'smtp.example.com', port: 587, username: 'u', password: 'p' },
    },
    {
      tenantId: tenantB,
      name: 'crm-api',
      type: 'http.basic',
      data: { username: 'b', password: 'pw-b', allowedHosts: ['*'] },
    },
    {
      tenantId: tenantB,
      name: 'llm',
      type: 'openai',
      data: { baseUrl: 'https://api.example.com', apiKey: 'sk-b' },
    },
  ];
  const rows = async (): Promise<(SealedRow & { updatedAt: Date })[]> =>
    dataSource.query(
      `SELECT tenant_id AS "tenantId", name, sealed, updated_at AS "updatedAt"
         FROM integration.credentials ORDER BY tenant_id, name`,
    );
  const sealedOf = async (tenantId: string, name: string) =>
    (await rows()).find((row) => row.tenantId === tenantId && row.name === name)?.sealed;
  // As the vault stored http credentials before allowedHosts: the pass must not re-check data.
  const legacy = { tenantId: tenantB, name: 'legacy' };
  const current = { tenantId: tenantB, name: 'new' };
  /** Every credential opened, as a worker gets it. */
  let originals: Map<string, OpenedCredential>;
  const openAll = async (vault: CredentialService) => {
    const opened = new Map<string, OpenedCredential>();
    for (const { tenantId, name } of [...credentials, legacy, current]) {
      const [credential] = await vault.unseal(tenantId, [name]);
      opened.set(`${tenantId}:${name}`, credential!);
    }
    return opened;
  };

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${database}`);
    dataSource = await freshIntegrationDatabase(url);
    const old = vaultWith(parseKeyRing(k0));
    for (const credential of credentials) await old.create({ schemaVersion: 1, ...credential });
    await new CredentialRepository(dataSource).insert(tenantB, {
      name: legacy.name,
      type: 'http.bearer',
      sealed: seal(
        parseKeyRing(k0),
        JSON.stringify({ token: 'tok-legacy' }),
        credentialAad(tenantB, legacy.name),
      ),
    });
    // One created after the new key went first in the ring: already current.
    await vaultWith(parseKeyRing(`${k1},${k0}`)).create({
      schemaVersion: 1,
      ...current,
      type: 'http.bearer',
      data: { token: 'tok-new', allowedHosts: ['*'] },
    });
    originals = await openAll(vaultWith(parseKeyRing(`${k1},${k0}`)));
    expect(originals.size).toBe(7);
    expect(originals.get(`${tenantB}:legacy`)?.data).toEqual({ token: 'tok-legacy' });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('reseals every tenant under the current key; they open once the old key is gone', async () => {
    const tenantC = randomUUID();
    const repository = new CredentialRepository(dataSource);
    // Sealed under a key no ring here holds, and an envelope altered in storage.
    const stranger = seal(
      parseKeyRing(generateSecretKey('k7')),
      '{"token":"x"}',
      credentialAad(tenantC, 'lost-key'),
    );
    await repository.insert(tenantC, { name: 'lost-key', type: 'http.bearer', sealed: stranger });
    const good = seal(parseKeyRing(k0), '{"token":"x"}', credentialAad(tenantC, 'altered'));
    const altered = `${good.slice(0, -4)}AAAA`;
    await repository.insert(tenantC, { name: 'altered', type: 'http.bearer', sealed: altered });
    const before = await rows();

    const first = await reseal(`${k1},${k0}`);

    expect(first.code).toBe(1);
    expect(first.log).toEqual([
      'credentials under key k1: resealed 6, already current 1, failed 2',
    ]);
    expect(first.error.sort()).toEqual([
      `failed: tenant ${tenantC} credential "altered": the sealed secret fails authentication: it was altered or belongs to another owner`,
      `failed: tenant ${tenantC} credential "lost-key": sealed with key "k7", which the key ring (WEFT_SECRET_KEY) does not hold`,
    ]);
    const after = await rows();
    for (const row of after) {
      const was = before.find((b) => b.tenantId === row.tenantId && b.name === row.name)!;
      // Re-sealing is no change of the user's: updated_at stays.
      expect(row.updatedAt).toEqual(was.updatedAt);
      if (row.tenantId === tenantC) expect(row.sealed).toBe(was.sealed);
      else expect(row.sealed).toMatch(/^v1\.k1\./);
    }
    await expect(openAll(vaultWith(parseKeyRing(k1)))).resolves.toEqual(originals);

    const again = await reseal(`${k1},${k0}`);
    expect(again.code).toBe(1);
    expect(again.log).toEqual([
      'credentials under key k1: resealed 0, already current 7, failed 2',
    ]);

    await repository.delete(tenantC, 'lost-key');
    await repository.delete(tenantC, 'altered');
    await expect(reseal(k1)).resolves.toEqual({
      code: 0,
      log: ['credentials under key k1: resealed 0, already current 7, failed 0'],
      error: [],
    });
  });

  it('pages through every row, in batches smaller than the table', async () => {
    const k2 = generateSecretKey('k2');
    const report = await resealCredentials(
      new CredentialRepository(dataSource),
      parseKeyRing(`${k2},${k1}`),
      2,
    );
    expect(report).toEqual({ resealed: 7, current: 0, failed: [] });
    await expect(openAll(vaultWith(parseKeyRing(k2)))).resolves.toEqual(originals);
    // Back under k1 for the next test, in a batch of one.
    await expect(
      resealCredentials(new CredentialRepository(dataSource), parseKeyRing(`${k1},${k2}`), 1),
    ).resolves.toEqual({ resealed: 7, current: 0, failed: [] });
  });

  it('never overwrites a rotation that lands between its read and its write', async () => {
    const k3 = generateSecretKey('k3');
    const rotated = { token: 'tok-rotated', allowedHosts: ['crm.example.com'] };
    // A replica not restarted yet still seals under k1: the pass must reseal the rotated data.
    const lagging = vaultWith(parseKeyRing(k1));
    let raced = 0;
    class RacingRepository extends CredentialRepository {
      override async replaceSealed(row: SealedRow, sealed: string): Promise<boolean> {
        if (row.tenantId === tenantA && row.name === 'crm-api' && raced++ === 0) {
          await lagging.update({
            schemaVersion: 1,
            tenantId: tenantA,
            name: 'crm-api',
            data: rotated,
          });
        }
        return super.replaceSealed(row, sealed);
      }
    }
    const report = await resealCredentials(
      new RacingRepository(dataSource),
      parseKeyRing(`${k3},${k1}`),
    );
    expect(raced).toBe(2);
    expect(report).toEqual({ resealed: 7, current: 0, failed: [] });
    expect(await sealedOf(tenantA, 'crm-api')).toMatch(/^v1\.k3\./);
    await expect(vaultWith(parseKeyRing(k3)).unseal(tenantA, ['crm-api'])).resolves.toEqual([
      { name: 'crm-api', type: 'http.bearer', data: rotated },
    ]);
  });
});
