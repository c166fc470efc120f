import { describeIssues, StepFailed, type RpcTransport, type StepConnector } from '@weft/messaging';
import type { EgressGuard } from '@weft/egress';
import type { JsonLogger } from '@weft/runtime';
import type { KeyRing } from '@weft/secrets';
import type { UsageLedger } from '../../usage/usage.repository';
import { AI_CHAT_STEP_TYPE, AiChatInput } from './ai-chat.input';
import { ProviderFailure, type ChatRequest } from './chat-provider';
import { chatProviders } from './chat-providers';
import { resolveChatEndpoints } from './chat-endpoints';

export const DEFAULT_PROVIDER_TIMEOUT_MS = 60_000;

export interface AiChatOptions {
  rpc: RpcTransport;
  keyRing: KeyRing;
  usage: UsageLedger;
  logger: JsonLogger;
  /** How long one provider may take before the next credential of the chain is tried. */
  providerTimeoutMs?: number;
  /** The SSRF guard every provider call goes through. */
  egress: EgressGuard;
}

/** What an `ai.chat` step outputs (SPEC §2). */
export interface AiChatOutput {
  text: string;
  model: string;
  provider: string;
  usage: { inputTokens: number; outputTokens: number };
}

/**
 * `ai.chat`: one completion from the first provider of the credential chain that answers.
 * Connection errors, timeouts, 429 and 5xx move on to the next credential; any other
 * refusal ends the attempt. Each answer's tokens are booked once per attempt.
 */
export function aiChatConnector(options: AiChatOptions): StepConnector {
  const providerTimeoutMs = options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  return {
    type: AI_CHAT_STEP_TYPE,
    run: async (task, { signal }): Promise<AiChatOutput> => {
      const parsed = AiChatInput.safeParse(task.input);
      if (!parsed.success)
        throw new StepFailed('invalid_input', describeIssues(parsed.error.issues));
      const input = parsed.data;
      const names = typeof input.credential === 'string' ? [input.credential] : input.credential;
      const endpoints = await resolveChatEndpoints(
        { rpc: options.rpc, keyRing: options.keyRing, providers: chatProviders },
        task.tenantId,
        names,
      );
      const request = chatRequest(input);
      const failures: string[] = [];
      for (const endpoint of endpoints) {
        try {
          const completion = await endpoint.complete(request, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(providerTimeoutMs)]),
            idempotencyKey: task.idempotencyKey,
            guard: options.egress,
          });
          await options.usage.record(task.tenantId, {
            runId: task.runId,
            stepId: task.stepId,
            attempt: task.attempt,
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
            runId: task.runId,
            stepId: task.stepId,
            attempt: task.attempt,
            reason,
          });
        }
      }
      throw new StepFailed('provider_unavailable', failures.join('; '));
    },
  };
}

function chatRequest(input: AiChatInput): ChatRequest {
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
