export interface CircuitBreakerOptions {
  /** Consecutive failures that open a circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before letting a trial through. */
  cooldownMs: number;
}

interface Circuit {
  failures: number;
  openedAt?: number;
}

/**
 * One circuit per provider (e.g. per tenant and credential): after repeated failures the
 * provider is skipped for a while, so a fallback chain goes straight to the next one.
 */
export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly options: CircuitBreakerOptions = { failureThreshold: 5, cooldownMs: 30_000 },
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether calls to `key` are refused; after the cooldown, calls pass until one fails again. */
  isOpen(key: string): boolean {
    const openedAt = this.circuits.get(key)?.openedAt;
    return openedAt !== undefined && this.now() - openedAt < this.options.cooldownMs;
  }

  succeeded(key: string): void {
    this.circuits.delete(key);
  }

  failed(key: string): void {
    const circuit = this.circuits.get(key) ?? { failures: 0 };
    circuit.failures++;
    if (circuit.failures >= this.options.failureThreshold) circuit.openedAt = this.now();
    this.circuits.set(key, circuit);
  }
}
