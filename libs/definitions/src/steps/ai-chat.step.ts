import { z } from 'zod';
import { CredentialRef, ServedBy } from './credential-ref';
import { defineStep } from './define-step';

export const ChatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** The fields of a conversation with a model, shared by `ai.chat` and `ai.extract`. */
export const chatFields = {
  credential: CredentialRef,
  model: z.string().min(1).max(200),
  prompt: z.string().optional(),
  messages: z.array(ChatMessage).min(1).optional(),
  system: z.string().optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.int().min(1).optional(),
};

export const onePromptOrMessages = [
  (chat: { prompt?: string; messages?: unknown[] }) =>
    (chat.prompt === undefined) !== (chat.messages === undefined),
  { message: 'exactly one of prompt or messages is required' },
] as const;

export const TokenUsage = z.object({ inputTokens: z.int(), outputTokens: z.int() });

/** What an AI call may fail with, besides the common codes. */
export const AI_ERRORS = Object.freeze([
  'provider_unavailable',
  'circuit_open',
  'provider_error',
  'invalid_response',
  'budget_exceeded',
  'egress_denied',
  'credential_not_found',
  'credential_unreadable',
  'credential_invalid',
] as const);

/** `ai.chat`: one completion from the first provider of the credential chain that answers. */
export const aiChatStep = defineStep({
  type: 'ai.chat',
  runsOn: 'ai',
  with: z.strictObject(chatFields).refine(...onePromptOrMessages),
  output: z.object({
    text: z.string(),
    model: z.string(),
    provider: z.string(),
    credential: ServedBy,
    usage: TokenUsage,
  }),
  errors: AI_ERRORS,
});
