import { ClientPool } from './broker-clients';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ClientPool', () => {
  it('keeps one client per key and closes it once idle', async () => {
    const closed: number[] = [];
    const pool = new ClientPool<number>(async (client) => void closed.push(client), 20);
    let opened = 0;
    const open = async () => ++opened;
    expect(await pool.use('k', open, async (client) => client)).toBe(1);
    expect(await pool.use('k', open, async (client) => client)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toEqual([1]);
    expect(await pool.use('k', open, async (client) => client)).toBe(2);
    await pool.closeAll();
    expect(closed).toEqual([1, 2]);
  });

  it('retires a broken client without failing the work still using it', async () => {
    const closed: number[] = [];
    const pool = new ClientPool<number>(
      async (client) => void closed.push(client),
      60_000,
      (error) => (error as Error).message === 'broken',
    );
    let opened = 0;
    const open = async () => ++opened;
    let finish!: () => void;
    const slow = pool.use(
      'k',
      open,
      (client) => new Promise<number>((resolve) => (finish = () => resolve(client))),
    );
    await tick();
    // A refusal of one message leaves the client in use…
    await expect(
      pool.use('k', open, async () => Promise.reject(new Error('refused'))),
    ).rejects.toThrow();
    expect(await pool.use('k', open, async (client) => client)).toBe(1);
    // … a broken one retires it, but closes it only once the slow work is done.
    await expect(
      pool.use('k', open, async () => Promise.reject(new Error('broken'))),
    ).rejects.toThrow();
    await tick();
    expect(closed).toEqual([]);
    expect(await pool.use('k', open, async (client) => client)).toBe(2);
    finish();
    expect(await slow).toBe(1);
    await tick();
    expect(closed).toEqual([1]);
    await pool.closeAll();
  });
});
