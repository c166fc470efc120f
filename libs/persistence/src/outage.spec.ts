import { isDatabaseUnavailable } from './outage';

describe('isDatabaseUnavailable', () => {
  it('recognises a server that is gone, restarting or full', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isDatabaseUnavailable({ code: '57P01', message: 'terminating connection' })).toBe(true);
    expect(
      isDatabaseUnavailable({ code: '57P03', message: 'the database system is starting up' }),
    ).toBe(true);
    expect(isDatabaseUnavailable({ code: '53300', message: 'too many connections' })).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    // TypeORM's QueryFailedError keeps the driver's error.
    expect(isDatabaseUnavailable({ message: 'q', driverError: { code: '08006' } })).toBe(true);
  });

  it('leaves errors of the statement itself alone', () => {
    expect(isDatabaseUnavailable({ code: '23505', message: 'duplicate key' })).toBe(false);
    expect(isDatabaseUnavailable({ code: '42P01', message: 'relation does not exist' })).toBe(
      false,
    );
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
