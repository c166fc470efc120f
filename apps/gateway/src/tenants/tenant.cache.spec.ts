import { TenantCache } from './tenant.cache';

describe('TenantCache', () => {
  const acme = { id: 'a', name: 'acme' };
  const globex = { id: 'g', name: 'globex' };

  it('forgets an entry after its time to live', () => {
    let now = 0;
    const cache = new TenantCache(30_000, 10, () => now);
    cache.set('k', acme);
    now = 29_999;
    expect(cache.get('k')).toBe(acme);
    now = 30_000;
    expect(cache.get('k')).toBeUndefined();
  });

  it('makes room by dropping the least recently used entry', () => {
    const cache = new TenantCache(30_000, 2);
    cache.set('a', acme);
    cache.set('g', globex);
    cache.get('a');
    cache.set('i', { id: 'i', name: 'initech' });
    expect(cache.get('g')).toBeUndefined();
    expect(cache.get('a')).toBe(acme);
  });

  it('remembers unknown keys apart, for their time to live, until one is created or found', () => {
    let now = 0;
    const cache = new TenantCache(30_000, 2, () => now);
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
    now = 30_000;
    expect(cache.get('w')).toBeUndefined();
  });
});
