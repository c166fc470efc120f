import { fairAllowance, PlatformShare } from './platform-share';

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('fairAllowance', () => {
  it('gives a tenant alone the whole budget', () => {
    expect(fairAllowance(60, counts({}), 'a')).toBe(60);
    expect(fairAllowance(60, counts({ a: 60 }), 'a')).toBe(60);
  });

  it('does not hold a tenant that asks for fewer than its share', () => {
    expect(fairAllowance(60, counts({ a: 60, b: 19, c: 20 }), 'b')).toBe(Infinity);
    expect(fairAllowance(60, counts({ a: 60, b: 25, c: 20 }), 'b', 19)).toBe(Infinity);
  });

  it('holds a flooding tenant in a second after it was given less than its share', () => {
    // A asks for 50 a second; the last second happened to see 3 of its starts.
    expect(fairAllowance(66, counts({ a: 3, b: 20, c: 20 }), 'a', 50)).toBe(26);
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

  it('counts the most a tenant asked for in the last two seconds, refused starts included', async () => {
    let now = 10_000;
    const share = new PlatformShare(66, undefined, { now: () => now });
    const starts = (tenant: string, admitted: number, refused = 0) => {
      for (let i = 0; i < admitted; i++) share.record(tenant);
      for (let i = 0; i < refused; i++) share.refuse(tenant);
    };
    // A's 50 connections send together once a second: 23 of a volley are admitted in this
    // second, 24 refused for the share, and the last 3 admitted fall in the next.
    starts('a', 23, 24);
    starts('b', 20);
    starts('c', 20);
    now += 1_000;
    starts('a', 3);
    starts('b', 20);
    starts('c', 20);
    now += 1_000;
    // A started 3 in the last second, but asked for 47 in the one before: held to what B and C
    // leave (before, 3 under its share of 22 let the next volley in whole).
    expect((await share.allowance('a')).allowance).toBe(26);
    // B and C ask for fewer than their share: not held.
    expect((await share.allowance('b')).allowance).toBe(Infinity);
  });
});
