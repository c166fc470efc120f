import { createDataSource } from '@weft/persistence';
import { loadConfig } from '@weft/runtime';
import { credentialAad, reseal, SecretsError, type KeyRing } from '@weft/secrets';
import { configSchema } from '../config';
import { integrationDatabase } from '../database';
import { CredentialRepository, type SealedRow } from './credential.repository';

/** A credential no key of the ring opens; it is left as it is. */
export interface ResealFailure {
  tenantId: string;
  name: string;
  reason: string;
}

export interface ResealReport {
  /** Sealed again under the current key by this pass. */
  resealed: number;
  /** Already under the current key (and opening with it). */
  current: number;
  failed: ResealFailure[];
}

/**
 * A row replaced between our read and our write is judged again from what it then holds;
 * only a credential rotated under our feet this many times in a row is given up on.
 */
const ATTEMPTS = 3;

/**
 * Seals every tenant's credentials again under the ring's current key, so the older keys can
 * leave `WEFT_SECRET_KEY`. Rows are read a page at a time and each is written with a
 * compare-and-set, so a rotation (`PUT /v1/credentials/{name}`) landing meanwhile is never
 * overwritten with the older data. Credentials no key opens are reported and left untouched.
 */
export async function resealCredentials(
  credentials: CredentialRepository,
  ring: KeyRing,
  batchSize = 100,
): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, current: 0, failed: [] };
  let after: SealedRow | undefined;
  for (;;) {
    const page = await credentials.sealedPage(after, batchSize);
    for (const row of page) await resealOne(credentials, ring, row, report);
    if (page.length < batchSize) return report;
    after = page.at(-1);
  }
}

async function resealOne(
  credentials: CredentialRepository,
  ring: KeyRing,
  read: SealedRow,
  report: ResealReport,
): Promise<void> {
  let row: SealedRow | undefined = read;
  for (let attempt = 1; row; attempt++) {
    const { tenantId, name } = row;
    let sealed: string | undefined;
    try {
      sealed = reseal(ring, row.sealed, credentialAad(tenantId, name));
    } catch (error) {
      if (!(error instanceof SecretsError)) throw error;
      report.failed.push({ tenantId, name, reason: error.message });
      return;
    }
    if (sealed === undefined) {
      report.current++;
      return;
    }
    if (await credentials.replaceSealed(row, sealed)) {
      report.resealed++;
      return;
    }
    if (attempt === ATTEMPTS) {
      report.failed.push({ tenantId, name, reason: `replaced ${ATTEMPTS} times while resealing` });
      return;
    }
    // Undefined once deleted meanwhile: nothing left to reseal.
    row = await credentials.sealedOf(tenantId, name);
  }
}

/** The integration service's own variables, those the pass needs. */
const resealConfigSchema = configSchema.pick({ DATABASE_URL: true, WEFT_SECRET_KEY: true });

/**
 * `npm run credentials:reseal`: one line per failed credential on `out.error`, a summary on
 * `out.log`; answers the exit code, 1 when any credential failed (after all the others).
 */
export async function runCredentialReseal(
  env: NodeJS.ProcessEnv = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  const config = loadConfig(resealConfigSchema, env);
  const ring = config.WEFT_SECRET_KEY;
  const dataSource = createDataSource(integrationDatabase, {
    url: config.DATABASE_URL,
    poolSize: 1,
    applicationName: 'weft-credentials-reseal',
  });
  await dataSource.initialize();
  let report: ResealReport;
  try {
    report = await resealCredentials(new CredentialRepository(dataSource), ring);
  } finally {
    await dataSource.destroy();
  }
  for (const { tenantId, name, reason } of report.failed) {
    out.error(`failed: tenant ${tenantId} credential ${JSON.stringify(name)}: ${reason}`);
  }
  out.log(
    `credentials under key ${ring.currentKeyId}: resealed ${report.resealed}, ` +
      `already current ${report.current}, failed ${report.failed.length}`,
  );
  return report.failed.length > 0 ? 1 : 0;
}
