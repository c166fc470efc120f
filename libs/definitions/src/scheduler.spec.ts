import { nextSteps, runOutcome, type SchedulableStep, type StepStatuses } from './scheduler';

const definition = (...steps: SchedulableStep[]) => ({ steps });

describe('nextSteps', () => {
  it('makes steps without needs ready at the start', () => {
    const wf = definition({ id: 'a' }, { id: 'b', needs: [] }, { id: 'c', needs: ['a'] });
    expect(nextSteps(wf, {})).toEqual({ ready: ['a', 'b'], skip: [] });
  });

  it('only decides pending steps', () => {
    const wf = definition({ id: 'a' }, { id: 'b', needs: ['a'] });
    expect(nextSteps(wf, { a: 'running' })).toEqual({ ready: [], skip: [] });
    expect(nextSteps(wf, { a: 'succeeded', b: 'queued' })).toEqual({ ready: [], skip: [] });
  });

  describe('allSucceeded (default)', () => {
    const wf = definition(
      { id: 'a' },
      { id: 'b' },
      { id: 'c', needs: ['a', 'b'] },
      { id: 'd', needs: ['c'] },
      { id: 'e', needs: ['d'], needsPolicy: 'allSucceeded' },
    );

    it('waits for every need, then runs', () => {
      expect(nextSteps(wf, { a: 'succeeded', b: 'running' })).toEqual({ ready: [], skip: [] });
      expect(nextSteps(wf, { a: 'succeeded', b: 'succeeded' })).toEqual({ ready: ['c'], skip: [] });
    });

    it.each(['skipped', 'cancelled', 'failed'] as const)(
      'skips as soon as a need is %s, and the skip cascades',
      (status) => {
        const statuses: StepStatuses = { a: status, b: 'running' };
        expect(nextSteps(wf, statuses)).toEqual({ ready: [], skip: ['c'] });
        expect(nextSteps(wf, { ...statuses, c: 'skipped' })).toEqual({ ready: [], skip: ['d'] });
        expect(nextSteps(wf, { ...statuses, c: 'skipped', d: 'skipped' })).toEqual({
          ready: [],
          skip: ['e'],
        });
      },
    );

    it('treats a failed need that continues on error as done', () => {
      const lenient = definition({ id: 'a', onError: 'continue' }, { id: 'b', needs: ['a'] });
      expect(nextSteps(lenient, { a: 'failed' })).toEqual({ ready: ['b'], skip: [] });
    });

    it('lets the caller say which steps continue on error', () => {
      const wf2 = definition({ id: 'a' }, { id: 'b', needs: ['a'] });
      expect(nextSteps(wf2, { a: 'failed' }, new Set(['a']))).toEqual({ ready: ['b'], skip: [] });
      const lenient = definition({ id: 'a', onError: 'continue' }, { id: 'b', needs: ['a'] });
      expect(nextSteps(lenient, { a: 'failed' }, new Set())).toEqual({ ready: [], skip: ['b'] });
    });
  });

  describe('anySucceeded', () => {
    const wf = definition(
      { id: 'left' },
      { id: 'right', onError: 'continue' },
      { id: 'join', needs: ['left', 'right'], needsPolicy: 'anySucceeded' },
    );

    it('waits until every need ended, even when one already succeeded', () => {
      expect(nextSteps(wf, { left: 'succeeded', right: 'running' })).toEqual({
        ready: [],
        skip: [],
      });
    });

    it('runs when at least one need succeeded', () => {
      expect(nextSteps(wf, { left: 'succeeded', right: 'skipped' })).toEqual({
        ready: ['join'],
        skip: [],
      });
      expect(nextSteps(wf, { left: 'skipped', right: 'failed' })).toEqual({
        ready: ['join'],
        skip: [],
      });
    });

    it('skips when none succeeded', () => {
      expect(nextSteps(wf, { left: 'skipped', right: 'skipped' })).toEqual({
        ready: [],
        skip: ['join'],
      });
      expect(nextSteps(wf, { left: 'failed', right: 'cancelled' })).toEqual({
        ready: [],
        skip: ['join'],
      });
    });
  });

  describe('allDone', () => {
    const wf = definition(
      { id: 'a' },
      { id: 'b' },
      { id: 'notify', needs: ['a', 'b'], needsPolicy: 'allDone' },
    );

    it('runs once every need ended, whatever the outcome', () => {
      expect(nextSteps(wf, { a: 'skipped', b: 'waiting' })).toEqual({ ready: [], skip: [] });
      expect(nextSteps(wf, { a: 'skipped', b: 'failed' })).toEqual({ ready: ['notify'], skip: [] });
      expect(nextSteps(wf, { a: 'cancelled', b: 'succeeded' })).toEqual({
        ready: ['notify'],
        skip: [],
      });
    });

    it('stops a skipped branch from cascading past it', () => {
      const branchy = definition(
        { id: 'check' },
        { id: 'vip', needs: ['check'] },
        { id: 'notify', needs: ['vip'], needsPolicy: 'allDone' },
        { id: 'after', needs: ['notify'] },
      );
      expect(nextSteps(branchy, { check: 'succeeded', vip: 'skipped' })).toEqual({
        ready: ['notify'],
        skip: [],
      });
      expect(
        nextSteps(branchy, { check: 'succeeded', vip: 'skipped', notify: 'succeeded' }),
      ).toEqual({ ready: ['after'], skip: [] });
    });
  });
});

describe('runOutcome', () => {
  const wf = definition({ id: 'a' }, { id: 'b', needs: ['a'], onError: 'continue' }, { id: 'c' });

  it('is running until every step ended', () => {
    expect(runOutcome(wf, {})).toBe('running');
    expect(runOutcome(wf, { a: 'succeeded', b: 'succeeded', c: 'waiting' })).toBe('running');
  });

  it('succeeds when every step ended without a failure that fails the run', () => {
    expect(runOutcome(wf, { a: 'succeeded', b: 'failed', c: 'skipped' })).toBe('succeeded');
  });

  it('fails as soon as a step failed that does not continue on error', () => {
    expect(runOutcome(wf, { a: 'failed', c: 'running' })).toBe('failed');
  });
});
