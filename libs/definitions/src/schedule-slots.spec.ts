import {
  CATCH_UP_WINDOW_MS,
  cronProblem,
  decideSlot,
  MISSED_AFTER_MS,
  nextSlot,
  nextSlots,
} from './schedule-slots';

const at = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('schedule slots', () => {
  describe('cron patterns', () => {
    it.each([
      ['*/5 * * * *', undefined],
      ['*/2 * * * * *', undefined],
      ['0 9 * * MON-FRI', undefined],
      ['* * * * * * *', 'cron must have 5 fields'],
      ['* * * *', 'cron must have 5 fields'],
      ['61 * * * *', 'invalid cron: Invalid value for minute: 61'],
      ['0 0 30 2 *', 'cron never matches a date'],
    ])('%s', (cron, problem) => {
      const found = cronProblem({ cron, timezone: 'UTC' });
      if (problem === undefined) expect(found).toBeUndefined();
      else expect(found).toContain(problem);
    });
  });

  it('6 fields put seconds first', () => {
    const spec = { cron: '*/2 * * * * *', timezone: 'UTC' };
    expect(iso(nextSlots(spec, at('2026-12-02T10:00:00.500Z'), 3))).toEqual([
      '2026-12-02T10:00:02.000Z',
      '2026-12-02T10:00:04.000Z',
      '2026-12-02T10:00:06.000Z',
    ]);
  });

  describe('daylight saving time (Europe/Paris)', () => {
    const daily = { cron: '30 2 * * *', timezone: 'Europe/Paris' };

    it('a slot that does not exist (spring forward, 02:30 on 29 March) is skipped', () => {
      expect(iso(nextSlots(daily, at('2026-03-27T12:00:00Z'), 3))).toEqual([
        '2026-03-28T01:30:00.000Z', // 02:30 CET
        '2026-03-30T00:30:00.000Z', // 02:30 CEST: 29 March has no 02:30
        '2026-03-31T00:30:00.000Z',
      ]);
    });

    it('a repeated slot (fall back, 02:30 twice on 25 October) fires once', () => {
      expect(iso(nextSlots(daily, at('2026-10-24T12:00:00Z'), 2))).toEqual([
        '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST)
        '2026-10-26T01:30:00.000Z', // 02:30 CET the next day
      ]);
    });

    it('an interval schedule keeps real time across the change', () => {
      const every20 = { cron: '*/20 * * * *', timezone: 'Europe/Paris' };
      const slots = nextSlots(every20, at('2026-10-25T00:30:00Z'), 6);
      const gaps = slots.slice(1).map((d, i) => d.getTime() - slots[i]!.getTime());
      expect(new Set(gaps)).toEqual(new Set([20 * 60 * 1000]));
    });
  });

  describe('deciding a due slot', () => {
    const everyMinute = { cron: '* * * * *', timezone: 'UTC' };
    const due = at('2026-12-02T10:00:00Z');

    it('on time: fires the slot and waits for the next one', () => {
      const decision = decideSlot(everyMinute, due, at('2026-12-02T10:00:00.150Z'), 'latest');
      expect(decision).toEqual({
        fire: due,
        missed: 0,
        late: false,
        next: at('2026-12-02T10:01:00Z'),
      });
    });

    it('a busy engine is late, not missing: every slot fires, one at a time', () => {
      const now = at('2026-12-02T10:00:45Z');
      const perSecond = { cron: '* * * * * *', timezone: 'UTC' };
      const decision = decideSlot(perSecond, due, now, 'none');
      expect(decision).toMatchObject({ fire: due, missed: 0, late: true });
      expect(decision.next).toEqual(at('2026-12-02T10:00:01Z'));
    });

    it('after downtime, catchUp latest fires only the most recent missed slot', () => {
      const now = at('2026-12-02T10:30:30Z');
      const decision = decideSlot(everyMinute, due, now, 'latest');
      expect(decision).toEqual({
        fire: at('2026-12-02T10:30:00Z'),
        missed: 30,
        late: true,
        next: at('2026-12-02T10:31:00Z'),
      });
    });

    it('catchUp none fires nothing it reached too late', () => {
      const hourly = { cron: '0 * * * *', timezone: 'UTC' };
      const now = new Date(due.getTime() + 2 * MISSED_AFTER_MS);
      expect(decideSlot(hourly, due, now, 'none')).toEqual({
        fire: null,
        missed: 1,
        late: false,
        next: at('2026-12-02T11:00:00Z'),
      });
    });

    it('catchUp latest gives up on a slot older than the window', () => {
      const daily = { cron: '0 10 * * *', timezone: 'UTC' };
      const now = new Date(due.getTime() + CATCH_UP_WINDOW_MS + 1000);
      expect(decideSlot(daily, due, now, 'latest')).toMatchObject({ fire: null, missed: 1 });
    });
  });

  it('nextSlot is strictly after its argument', () => {
    const spec = { cron: '0 * * * *', timezone: 'UTC' };
    expect(nextSlot(spec, at('2026-12-02T10:00:00Z'))).toEqual(at('2026-12-02T11:00:00Z'));
  });
});
