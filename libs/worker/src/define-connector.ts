import type { CredentialType, OpenedCredential, StepTask } from '@weft/contracts';
import type { OutputOf, StepType, WithOf } from '@weft/definitions';
import type { EgressGuard } from '@weft/egress';
import type { ProviderBreakers, Served } from './provider-breakers';

/** Opens a tenant's credentials for a connector, in the order asked; throws `StepFailed`. */
export interface CredentialSource {
  open(tenantId: string, names: readonly string[]): Promise<OpenedCredential[]>;
}

/** What a worker process gives every connector it runs. */
export interface WorkerServices {
  /** The SSRF guard every outbound call of a connector goes through. */
  egress: EgressGuard;
  credentials: CredentialSource;
  /** The circuit breakers of the providers this process calls, one per tenant credential. */
  breakers: ProviderBreakers;
}

/** What a connector gets besides its typed input: one attempt of one step. */
export interface ConnectorContext {
  readonly runId: string;
  readonly stepId: string;
  readonly tenantId: string;
  /** The run's workflow (absent in tasks of older engines). */
  readonly workflowId?: string;
  /** Same for every attempt of the step: `{runId}:{stepId}`; pass it on to the target. */
  readonly idempotencyKey: string;
  readonly attempt: number;
  /** This attempt's budget in milliseconds (the step's `timeoutMs`). */
  readonly timeoutMs: number;
  /**
   * Aborts when the attempt's `timeoutMs` runs out or its run is cancelled; connectors pass it
   * to their I/O, so a cancelled HTTP call closes its connection.
   */
  readonly signal: AbortSignal;
  /** Tells the engine the attempt is alive (renews its lease); a timer also does, as fallback. */
  heartbeat(): void;
  readonly egress: EgressGuard;
  /** The tenant's credentials by name, opened, in the order asked. */
  credentials(names: readonly string[]): Promise<OpenedCredential[]>;
  /**
   * The tenant's credentials by name, opened, tried in order (fallback providers), each behind
   * its circuit breaker: a retryable `StepFailed` from `call` moves on to the next credential,
   * anything else ends the attempt. Answers which credential served.
   */
  fallback<T>(
    names: readonly string[],
    call: (credential: OpenedCredential) => Promise<T>,
  ): Promise<Served<T>>;
}

/** Runs the steps of one type; the worker parses the task's input with the step's schema. */
export interface Connector<S extends StepType = StepType> {
  readonly step: S;
  run(input: WithOf<S>, context: ConnectorContext): Promise<OutputOf<S>>;
}

/**
 * A connector for a step type: adding one is a folder with this call and a line in the
 * worker's list. `run` receives the `with` already parsed by the step's one schema.
 */
export function defineConnector<S extends StepType>(
  step: S,
  run: (input: WithOf<S>, context: ConnectorContext) => Promise<OutputOf<S>>,
): Connector<S> {
  return Object.freeze({ step, run });
}

/** A credential of one of `types`, narrowed; for connectors that take several. */
export type OpenedCredentialOf<T extends CredentialType> = Extract<OpenedCredential, { type: T }>;

/** The task fields a connector context repeats. */
export const contextFieldsOf = (task: StepTask) => ({
  runId: task.runId,
  stepId: task.stepId,
  tenantId: task.tenantId,
  workflowId: task.workflowId,
  idempotencyKey: task.idempotencyKey,
  attempt: task.attempt,
  timeoutMs: task.timeoutMs,
});
