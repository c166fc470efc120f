import { credentialNames, type CredentialRef } from '@weft/definitions';
import type { JsonLogger } from '@weft/runtime';
import { StepFailed, type ConnectorContext } from '@weft/worker';
import { BudgetExceeded, type TokenLedger } from '../usage/token-ledger';
import { chatEndpointOf } from './ai-chat/chat-endpoints';
import { ProviderFailure, type ChatCompletion, type ChatRequest } from './ai-chat/chat-provider';
import { chatProviders } from './ai-chat/chat-providers';

export const DEFAULT_PROVIDER_TIMEOUT_MS = 60_000;
/** Output a budgeted call may produce when its step sets no `maxTokens` (and is capped at). */
export const DEFAULT_BUDGETED_OUTPUT_TOKENS = 4096;
/** How long a reservation outlives its attempt's budget before it stops counting. */
const HOLD_GRACE_MS = 60_000;

export interface ModelCallOptions {
  ledger: TokenLedger;
  logger: JsonLogger;
  /** How long one provider may take before the next credential of the chain is tried. */
  providerTimeoutMs?: number;
}

/** A completion, and who answered it. */
export interface ModelAnswer extends ChatCompletion {
  /** The credential's type (`openai`, `anthropic`). */
  provider: string;
  /** The credential of the chain that answered. */
  credential: string;
}

/**
 * One LLM call of a step: the tokens it may use reserved against the tenant's budget (refused
 * with `budget_exceeded` before anything is sent), the credential chain tried in turn behind
 * the worker's circuit breakers (connection errors, timeouts, 429 and 5xx move on), and what
 * the answer spent booked to the ledger. `call` numbers the calls of one attempt from 0.
 */
export async function callModel(
  context: ConnectorContext,
  credential: CredentialRef,
  request: ChatRequest,
  call: number,
  options: ModelCallOptions,
): Promise<ModelAnswer> {
  const providerTimeoutMs = options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  const reservation = await reserve(context, request, options.ledger);
  // A budget needs a ceiling on what the call can spend: the one reserved.
  const sent =
    reservation && request.maxTokens === undefined
      ? { ...request, maxTokens: DEFAULT_BUDGETED_OUTPUT_TOKENS }
      : request;
  let answer: ModelAnswer;
  try {
    const served = await context.fallback(credentialNames(credential), async (opened) => {
      const endpoint = chatEndpointOf(opened, chatProviders);
      try {
        const completion = await endpoint.complete(sent, {
          signal: AbortSignal.any([context.signal, AbortSignal.timeout(providerTimeoutMs)]),
          idempotencyKey: context.idempotencyKey,
          guard: context.egress,
        });
        return { ...completion, provider: endpoint.provider };
      } catch (error) {
        if (context.signal.aborted || !(error instanceof ProviderFailure)) throw error;
        const reason = `credential "${opened.name}" (${endpoint.provider}) ${error.message}`;
        if (error.retryable) {
          options.logger.event('warn', 'ai provider unavailable', {
            runId: context.runId,
            stepId: context.stepId,
            attempt: context.attempt,
            reason,
          });
          context.heartbeat();
        }
        throw new StepFailed(error.code, reason);
      }
    });
    answer = { ...served.value, credential: served.credential };
  } catch (error) {
    await options.ledger.release(reservation);
    throw error;
  }
  await options.ledger.settle(
    context.tenantId,
    {
      runId: context.runId,
      stepId: context.stepId,
      attempt: context.attempt,
      call,
      workflowId: context.workflowId,
      provider: answer.provider,
      model: answer.model,
      ...answer.usage,
    },
    reservation,
  );
  return answer;
}

async function reserve(context: ConnectorContext, request: ChatRequest, ledger: TokenLedger) {
  try {
    return await ledger.reserve(
      context.tenantId,
      mostTokensOf(request),
      context.timeoutMs + HOLD_GRACE_MS,
    );
  } catch (error) {
    if (error instanceof BudgetExceeded) throw new StepFailed('budget_exceeded', error.message);
    throw error;
  }
}

/**
 * The most tokens a call can spend: byte-level BPE tokenizers never make more than one token of
 * a byte, plus a few tokens of framing per message; and the output it may produce.
 */
export function mostTokensOf(request: ChatRequest): number {
  const framing = 8;
  let input = request.schema ? Buffer.byteLength(JSON.stringify(request.schema)) + framing : 0;
  for (const message of request.messages) input += Buffer.byteLength(message.content) + framing;
  return input + (request.maxTokens ?? DEFAULT_BUDGETED_OUTPUT_TOKENS);
}
