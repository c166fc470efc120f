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
});
