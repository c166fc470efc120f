import { migrationUrl, services as migrated } from '../../tools/migrate.cjs';
import { serviceNames } from './support';

/** tools/migrate.cjs: what `npm run migrate`, the migration Job and compose's `migrate` run. */
describe('tools/migrate.cjs', () => {
  it('migrates every service’s schema', () => {
    expect(Object.keys(migrated).sort()).toEqual([...serviceNames].sort());
    for (const [service, database] of Object.entries(migrated)) {
      expect({ service, schema: database().schema }).toEqual({ service, schema: service });
    }
  });

  it('connects to DATABASE_DIRECT_URL, which bypasses a transaction-mode PgBouncer', () => {
    const pooled = 'postgres://weft@pgbouncer:6432/weft';
    const direct = 'postgres://weft@postgres:5432/weft';
    expect(migrationUrl({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: direct })).toBe(direct);
    expect(migrationUrl({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: '' })).toBe(pooled);
    expect(() => migrationUrl({})).toThrow(/DATABASE_DIRECT_URL nor DATABASE_URL/);
  });
});
