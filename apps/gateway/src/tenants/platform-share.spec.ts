import { fairAllowance, PlatformShare } from './platform-share';

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('fairAllowance', () => {
  it('gives a tenant alone the whole budget', () => {
    expect(fairAllowance(60, counts({}), 'a')).toBe(60);
    expect(fairAllowance(60, counts({ a: 60 }), 'a')).toBe(60);
  });

  it('does not hold a tenant that started fewer than its share in the last second', () => {
    expect(fairAllowance(60, counts({ a: 60, b: 19, c: 20 }), 'b')).toBe(Infinity);
  });

  it('holds a tenant that starts after a quiet second to its share: a flood may begin so', () => {
    expect(fairAllowance(60, counts({ b: 20, c: 20 }), 'a')).toBe(20);
    expect(fairAllowance(66, counts({ b: 20, c: 20 }), 'a')).toBe(26);
  });

  it('gives a flooding tenant what the quiet ones leave', () => {
    // B and C start 20 a second each; A took 60 in the last second.
    const last = counts({ a: 60, b: 20, c: 20 });
    expect(fairAllowance(60, last, 'a')).toBe(20);
    expect(fairAllowance(90, last, 'a')).toBe(50);
  });

  it('never gives a tenant less than its share of the budget', () => {
    // The others took 80 of 60: B, at its share, still gets a third.
    expect(fairAllowance(60, counts({ a: 60, b: 20, c: 20 }), 'b')).toBe(20);
    // Tenants that started nothing are not counted in.
    expect(fairAllowance(60, counts({ a: 60, b: 30, d: 0 }), 'b')).toBe(30);
  });
});

describe('PlatformShare in process', () => {
  it("shares a second's budget by what each tenant started in the last one", async () => {
    let now = 10_000;
    const share = new PlatformShare(30, undefined, { now: () => now });
    // Nobody started runs in the last second: A may take the whole budget.
    expect(await share.allowance('a')).toEqual({ allowance: 30, resetMs: 1_000 });
    for (let i = 0; i < 30; i++) share.record('a');
    share.record('b');
    now += 1_000;
    // A took 30 and B 1: the next second A gets what B leaves, and B, under its share, all.
    expect((await share.allowance('a')).allowance).toBe(29);
    expect((await share.allowance('b')).allowance).toBe(Infinity);
    now += 250;
    expect((await share.allowance('a')).resetMs).toBe(750);
    // A second with no starts: each alone again.
    now += 1_000;
    expect((await share.allowance('b')).allowance).toBe(30);
  });
});
