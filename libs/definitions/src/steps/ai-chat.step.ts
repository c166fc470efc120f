import { z } from 'zod';
import { CredentialRef } from './credential-ref';
import { defineStep } from './define-step';

export const ChatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** `ai.chat`: one completion from the first provider of the credential chain that answers. */
export const aiChatStep = defineStep({
  type: 'ai.chat',
  runsOn: 'ai',
  with: z
    .strictObject({
      credential: CredentialRef,
      model: z.string().min(1).max(200),
      prompt: z.string().optional(),
      messages: z.array(ChatMessage).min(1).optional(),
      system: z.string().optional(),
      temperature: z.number().min(0).max(2).optional(),
      maxTokens: z.int().min(1).optional(),
    })
    .refine((chat) => (chat.prompt === undefined) !== (chat.messages === undefined), {
      message: 'exactly one of prompt or messages is required',
    }),
  output: z.object({
    text: z.string(),
    model: z.string(),
    provider: z.string(),
    usage: z.object({ inputTokens: z.int(), outputTokens: z.int() }),
  }),
  errors: [
    'provider_unavailable',
    'provider_error',
    'invalid_response',
    'egress_denied',
    'credential_not_found',
    'credential_unreadable',
    'credential_invalid',
  ],
});
