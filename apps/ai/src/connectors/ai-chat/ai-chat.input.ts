import { CredentialName } from '@weft/contracts';
import { z } from 'zod';

export const AI_CHAT_STEP_TYPE = 'ai.chat';

const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

/** An `ai.chat` step's `with`, once evaluated. A list of credentials is a fallback chain. */
export const AiChatInput = z
  .object({
    credential: z.union([CredentialName, z.array(CredentialName).min(1).max(10)]),
    model: z.string().min(1).max(200),
    prompt: z.string().optional(),
    messages: z.array(ChatMessage).min(1).optional(),
    system: z.string().optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.int().min(1).optional(),
  })
  .refine((input) => (input.prompt === undefined) !== (input.messages === undefined), {
    message: 'give either prompt or messages',
  });
export type AiChatInput = z.infer<typeof AiChatInput>;
