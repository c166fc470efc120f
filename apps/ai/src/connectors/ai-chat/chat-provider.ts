import type { CredentialType } from '@weft/contracts';
import type { ChatMessage } from '@weft/definitions';
import type { EgressGuard } from '@weft/egress';
import type { z } from 'zod';

/** What a provider is asked, whatever its wire format. */
export interface ChatRequest {
  model: string;
  /** The conversation in order; system messages come first. */
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /**
   * Asks for one JSON value matching this JSON Schema (`ai.extract`), in the provider's own
   * way; the completion's `text` is then that JSON.
   */
  schema?: Record<string, unknown>;
}

export interface ChatCompletion {
  text: string;
  /** The model that answered, as the provider names it. */
  model: string;
  usage: { inputTokens: number; outputTokens: number };
}

/** What one call carries besides the request. */
export interface ChatCall {
  readonly signal: AbortSignal;
  /** Checks and pins the provider's address (`WEFT_EGRESS_ALLOW`). */
  readonly guard: EgressGuard;
  /** The step attempt's key, passed on so a provider that honours it bills the call once. */
  readonly idempotencyKey: string;
}

/**
 * One LLM API. Adding a provider is one file implementing this and a line in the registry.
 * Its failures are `ProviderFailure`s whose messages never hold the credential's secrets.
 */
export interface ChatProvider<Credential = unknown> {
  /** The credential type it takes, also reported as the step's `provider`. */
  readonly type: CredentialType;
  readonly credential: z.ZodType<Credential>;
  complete(credential: Credential, request: ChatRequest, call: ChatCall): Promise<ChatCompletion>;
}

/**
 * Why a provider did not answer. `provider_unavailable` (connection, timeout, 429, 5xx) moves
 * on to the next credential of the chain; the others end the attempt.
 */
export type ProviderFailureCode =
  'provider_unavailable' | 'provider_error' | 'invalid_response' | 'egress_denied';

export class ProviderFailure extends Error {
  override readonly name = 'ProviderFailure';
  constructor(
    readonly code: ProviderFailureCode,
    message: string,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.code === 'provider_unavailable';
  }
}
