import { KNOWN_KEY_TTL_MS, TenantCache } from './tenant.cache';
import type { ApiKeyIdentity } from './tenant.repository';

const identity = (id: string, name: string): ApiKeyIdentity => ({
  keyId: `key-${id}`,
  tenant: { id, name },
  limits: {},
  scopes: ['write'],
  expiresAt: null,
  revokedAt: null,
});

describe('TenantCache', () => {
  const acme = identity('a', 'acme');
  const globex = identity('g', 'globex');

  it('trusts what it read of a key for 1 s at most, counted from when it was read', () => {
    expect(KNOWN_KEY_TTL_MS).toBeLessThanOrEqual(1_000);
    let now = 0;
    const cache = new TenantCache({ now: () => now });
    cache.set('k', acme);
    now = KNOWN_KEY_TTL_MS - 1;
    expect(cache.get('k')).toBe(acme);
    now = KNOWN_KEY_TTL_MS;
    expect(cache.get('k')).toBeUndefined();
    // Read at 1000 by a lookup that began at 800: it lives until 1800, not 2000.
    now = 1_000;
    cache.set('k', acme, 800);
    now = 1_799;
    expect(cache.get('k')).toBe(acme);
    now = 1_800;
    expect(cache.get('k')).toBeUndefined();
  });

  it('forgets a key at once when told it was revoked', () => {
    const cache = new TenantCache();
    cache.set('k', acme);
    cache.forget('k');
    expect(cache.get('k')).toBeUndefined();
  });

  it('makes room by dropping the least recently used entry', () => {
    const cache = new TenantCache({ capacity: 2 });
    cache.set('a', acme);
    cache.set('g', globex);
    cache.get('a');
    cache.set('i', identity('i', 'initech'));
    expect(cache.get('g')).toBeUndefined();
    expect(cache.get('a')).toBe(acme);
  });

  it('remembers unknown keys apart, for their time to live, until one is created or found', () => {
    let now = 0;
    const cache = new TenantCache({ knownTtlMs: 30_000, capacity: 2, now: () => now });
    cache.set('a', acme);
    cache.setUnknown('x');
    cache.setUnknown('y');
    cache.setUnknown('z'); // pushes out the oldest unknown key, not a tenant
    expect([cache.get('a'), cache.get('x'), cache.get('y'), cache.get('z')]).toEqual([
      acme,
      undefined,
      null,
      null,
    ]);
    cache.forgetUnknown('y');
    expect(cache.get('y')).toBeUndefined();
    cache.set('z', globex);
    expect(cache.get('z')).toBe(globex);
    cache.setUnknown('w');
    now = 29_999;
    expect(cache.get('w')).toBeNull();
    now = 30_000;
    expect(cache.get('w')).toBeUndefined();
  });
});
