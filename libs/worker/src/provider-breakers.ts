import type { OpenedCredential } from '@weft/contracts';
import { counter, env, gauge, METRICS } from '@weft/runtime';
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { StepFailed } from './step-failed';

export interface BreakerSettings {
  /** Consecutive retryable failures of a provider that open its circuit. */
  failureThreshold: number;
  /** How long an open circuit skips its provider before one probe call is let through. */
  halfOpenAfterMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  failureThreshold: 5,
  halfOpenAfterMs: 30_000,
};

/** The variables of the breaker settings, for the configuration of each service that runs steps. */
export const breakerEnv = {
  WEFT_BREAKER_FAILURES: env.positiveInt(DEFAULT_BREAKER_SETTINGS.failureThreshold),
  WEFT_BREAKER_HALF_OPEN_MS: env.positiveInt(DEFAULT_BREAKER_SETTINGS.halfOpenAfterMs),
};

export const breakerSettingsOf = (config: {
  WEFT_BREAKER_FAILURES: number;
  WEFT_BREAKER_HALF_OPEN_MS: number;
}): BreakerSettings => ({
  failureThreshold: config.WEFT_BREAKER_FAILURES,
  halfOpenAfterMs: config.WEFT_BREAKER_HALF_OPEN_MS,
});

/** Circuits kept per process; the oldest closed one is forgotten past this (a closed circuit is the default). */
const MAX_CIRCUITS = 10_000;

const circuitState = gauge(METRICS.circuitBreakerState);
const circuitOpened = counter(METRICS.circuitBreakerOpened);
/** Every ProviderBreakers of the process (one per worker), for the circuits-by-state gauge. */
const everyWorker = new Set<ProviderBreakers>();
gauge(METRICS.circuitBreakers, (circuits) => {
  circuits.reset();
  for (const breakers of everyWorker) {
    for (const [state, count] of breakers.countByState()) {
      circuits.inc({ worker: breakers.worker, state }, count);
    }
  }
});

/** What a chain of providers answered, and which credential answered it. */
export interface Served<T> {
  value: T;
  credential: string;
}

/**
 * One circuit breaker per provider (tenant and credential name), shared by every attempt this
 * worker process runs. A provider's retryable failures (`StepFailed` with `retryable`) count
 * towards opening its circuit; any other outcome is an answer (a 4xx is the request's fault,
 * not the provider's). An open circuit is skipped until `halfOpenAfterMs` has passed; then one
 * call probes it while the others keep skipping it, and the probe's outcome closes or reopens it.
 */
export class ProviderBreakers {
  private readonly circuits = new Map<string, CircuitBreakerPolicy>();

  constructor(
    readonly worker: string,
    private readonly settings: BreakerSettings = DEFAULT_BREAKER_SETTINGS,
  ) {
    everyWorker.add(this);
  }

  /** How many circuits are in each state (`weft_circuit_breakers`). */
  countByState(): Map<'closed' | 'open' | 'half_open', number> {
    const counts = new Map<'closed' | 'open' | 'half_open', number>([
      ['closed', 0],
      ['open', 0],
      ['half_open', 0],
    ]);
    for (const circuit of this.circuits.values()) {
      const state =
        circuit.state === CircuitState.HalfOpen
          ? 'half_open'
          : circuit.state === CircuitState.Closed
            ? 'closed'
            : 'open';
      counts.set(state, counts.get(state)! + 1);
    }
    return counts;
  }

  /**
   * Calls `call` with each credential in turn until one answers: a retryable failure moves on
   * to the next, anything else ends the chain. Fails with the last provider's failure (naming
   * every credential tried), or `circuit_open` when every circuit was open.
   */
  async inTurn<T>(
    tenantId: string,
    credentials: readonly OpenedCredential[],
    call: (credential: OpenedCredential) => Promise<T>,
    signal: AbortSignal,
  ): Promise<Served<T>> {
    const failures: StepFailed[] = [];
    const skipped: string[] = [];
    for (const credential of credentials) {
      const circuit = this.circuitOf(tenantId, credential.name);
      // A probe is in flight: the others do not wait for it, they try the next provider.
      if (circuit.state === CircuitState.HalfOpen) {
        skipped.push(credential.name);
        continue;
      }
      try {
        const value = await circuit.execute(() => call(credential), signal);
        return { value, credential: credential.name };
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          skipped.push(credential.name);
          continue;
        }
        if (signal.aborted || !retryable(error)) throw error;
        failures.push(error);
      }
    }
    return this.exhausted(failures, skipped);
  }

  private exhausted(failures: readonly StepFailed[], skipped: readonly string[]): never {
    const last = failures.at(-1);
    const paused = skipped.length
      ? `; paused after repeated failures: ${skipped.map((name) => `"${name}"`).join(', ')}`
      : '';
    if (!last) {
      throw new StepFailed(
        'circuit_open',
        `every credential of this step is paused after repeated failures (${skipped.join(', ')})`,
        { retryAfterMs: this.settings.halfOpenAfterMs },
      );
    }
    if (failures.length === 1 && !paused) throw last;
    // Each connector's message names its credential.
    const tried = failures.map((failure) => failure.message).join('; ');
    throw last.withMessage(`every credential failed: ${tried}${paused}`);
  }

  private circuitOf(tenantId: string, name: string): CircuitBreakerPolicy {
    const key = `${tenantId}\u0000${name}`;
    const known = this.circuits.get(key);
    if (known) return known;
    if (this.circuits.size >= MAX_CIRCUITS) this.forgetOldestClosed();
    const labels = { worker: this.worker, tenant: tenantId, credential: name };
    const circuit = circuitBreaker(handleWhen(retryable), {
      halfOpenAfter: this.settings.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.settings.failureThreshold),
    });
    circuit.onStateChange((state) => {
      circuitState.set(labels, state === CircuitState.Isolated ? CircuitState.Open : state);
      if (state === CircuitState.Open) circuitOpened.inc({ worker: this.worker });
    });
    circuitState.set(labels, CircuitState.Closed);
    this.circuits.set(key, circuit);
    return circuit;
  }

  private forgetOldestClosed(): void {
    for (const [key, circuit] of this.circuits) {
      if (circuit.state !== CircuitState.Closed) continue;
      this.circuits.delete(key);
      const [tenant, credential] = key.split('\u0000');
      circuitState.remove({ worker: this.worker, tenant: tenant!, credential: credential! });
      return;
    }
  }
}

const retryable = (error: unknown): error is StepFailed =>
  error instanceof StepFailed && error.error.retryable;
