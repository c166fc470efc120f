import { anthropicProvider } from './anthropic.provider';
import type { ChatProvider } from './chat-provider';
import { openAiProvider } from './openai.provider';

/** The providers `ai.chat` speaks, by the credential type each takes. */
export const chatProviders: ReadonlyMap<string, ChatProvider> = new Map<string, ChatProvider>(
  [openAiProvider, anthropicProvider].map((provider) => [provider.type, provider]),
);
