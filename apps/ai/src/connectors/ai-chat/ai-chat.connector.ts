import { aiChatStep, credentialNames, type OutputOf, type WithOf } from '@weft/definitions';
import type { JsonLogger } from '@weft/runtime';
import { defineConnector, StepFailed } from '@weft/worker';
import type { UsageLedger } from '../../usage/usage.repository';
import { chatEndpoints } from './chat-endpoints';
import { ProviderFailure, type ChatRequest } from './chat-provider';
import { chatProviders } from './chat-providers';

export const DEFAULT_PROVIDER_TIMEOUT_MS = 60_000;

export interface AiChatOptions {
  usage: UsageLedger;
  logger: JsonLogger;
  /** How long one provider may take before the next credential of the chain is tried. */
  providerTimeoutMs?: number;
}

/** What an `ai.chat` step outputs. */
export type AiChatOutput = OutputOf<typeof aiChatStep>;

/**
 * `ai.chat`: one completion from the first provider of the credential chain that answers.
 * Connection errors, timeouts, 429 and 5xx move on to the next credential; any other
 * refusal ends the attempt. Each answer's tokens are booked once per attempt.
 */
export function aiChatConnector(options: AiChatOptions) {
  const providerTimeoutMs = options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  return defineConnector(aiChatStep, async (input, context) => {
    const { signal } = context;
    const endpoints = chatEndpoints(
      await context.credentials(credentialNames(input.credential)),
      chatProviders,
    );
    const request = chatRequest(input);
    const failures: string[] = [];
    for (const endpoint of endpoints) {
      try {
        const completion = await endpoint.complete(request, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(providerTimeoutMs)]),
          idempotencyKey: context.idempotencyKey,
          guard: context.egress,
        });
        await options.usage.record(context.tenantId, {
          runId: context.runId,
          stepId: context.stepId,
          attempt: context.attempt,
          provider: endpoint.provider,
          model: completion.model,
          ...completion.usage,
        });
        return { ...completion, provider: endpoint.provider };
      } catch (error) {
        // The attempt's own budget ran out: the worker reports the timeout.
        if (signal.aborted || !(error instanceof ProviderFailure)) throw error;
        const reason = `credential "${endpoint.credentialName}" (${endpoint.provider}) ${error.message}`;
        if (!error.retryable) throw new StepFailed(error.code, reason);
        failures.push(reason);
        options.logger.event('warn', 'ai provider unavailable', {
          runId: context.runId,
          stepId: context.stepId,
          attempt: context.attempt,
          reason,
        });
        context.heartbeat();
      }
    }
    throw new StepFailed('provider_unavailable', failures.join('; '));
  });
}

function chatRequest(input: WithOf<typeof aiChatStep>): ChatRequest {
  const conversation = input.messages ?? [{ role: 'user' as const, content: input.prompt ?? '' }];
  return {
    model: input.model,
    messages:
      input.system === undefined
        ? conversation
        : [{ role: 'system', content: input.system }, ...conversation],
    ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
    ...(input.maxTokens === undefined ? {} : { maxTokens: input.maxTokens }),
  };
}
