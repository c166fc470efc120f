import { aiChatStep, type OutputOf, type WithOf } from '@weft/definitions';
import { defineConnector } from '@weft/worker';
import { callModel, type ModelCallOptions } from '../model-call';
import type { ChatRequest } from './chat-provider';

/** What an `ai.chat` step outputs. */
export type AiChatOutput = OutputOf<typeof aiChatStep>;

/** `ai.chat`: one completion from the first provider of the credential chain that answers. */
export function aiChatConnector(options: ModelCallOptions) {
  return defineConnector(aiChatStep, async (input, context) => {
    const { text, model, provider, credential, usage } = await callModel(
      context,
      input.credential,
      chatRequest(input),
      0,
      options,
    );
    return { text, model, provider, credential, usage };
  });
}

/** The conversation of an `ai.chat` or `ai.extract` step, its system prompt first. */
export function chatRequest(
  input: Pick<
    WithOf<typeof aiChatStep>,
    'model' | 'prompt' | 'messages' | 'system' | 'temperature' | 'maxTokens'
  >,
): ChatRequest {
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
