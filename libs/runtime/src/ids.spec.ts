import { z } from 'zod';
import { uuidv7 } from './ids';

describe('uuidv7', () => {
  it('is a version 7 UUID that sorts by creation time', () => {
    const ids = [uuidv7(1_000), uuidv7(2_000), uuidv7(3_000)];
    for (const id of ids) expect(z.uuidv7().safeParse(id).success).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps the millisecond timestamp in its first 48 bits', () => {
    const at = Date.UTC(2026, 10, 23);
    expect(parseInt(uuidv7(at).replaceAll('-', '').slice(0, 12), 16)).toBe(at);
  });
});
