import { CircuitBreakers } from './circuit-breakers';

describe('CircuitBreakers', () => {
  let now = 0;
  const breakers = new CircuitBreakers({ failureThreshold: 2, cooldownMs: 1_000 }, () => now);

  it('opens after consecutive failures, lets a trial through after the cooldown', () => {
    breakers.failed('a');
    expect(breakers.isOpen('a')).toBe(false);
    breakers.failed('a');
    expect(breakers.isOpen('a')).toBe(true);
    expect(breakers.isOpen('b')).toBe(false);
    now += 1_000;
    expect(breakers.isOpen('a')).toBe(false);
    breakers.failed('a');
    expect(breakers.isOpen('a')).toBe(true);
  });

  it('closes on a success', () => {
    breakers.succeeded('a');
    expect(breakers.isOpen('a')).toBe(false);
    breakers.failed('a');
    expect(breakers.isOpen('a')).toBe(false);
  });
});
