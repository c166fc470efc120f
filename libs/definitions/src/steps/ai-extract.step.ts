import { z } from 'zod';
import { JsonSchemaDocument } from '../json-schema';
import { AI_ERRORS, chatFields, onePromptOrMessages, TokenUsage } from './ai-chat.step';
import { ServedBy } from './credential-ref';
import { defineStep } from './define-step';

/** Repairs an `ai.extract` step may ask for at most, whatever it sets. */
export const MAX_EXTRACT_REPAIRS = 5;

/**
 * `ai.extract`: structured data from a model, checked against `schema` (JSON Schema 2020-12).
 * The model is asked for JSON matching it (OpenAI-compatible `response_format: json_schema`,
 * Anthropic a forced tool call); an answer that does not match is sent back with the
 * validation errors, up to `maxRepairs` times, then the step fails with `extract_invalid`.
 * `usage` sums every call.
 */
export const aiExtractStep = defineStep({
  type: 'ai.extract',
  runsOn: 'ai',
  with: z
    .strictObject({
      ...chatFields,
      schema: JsonSchemaDocument,
      maxRepairs: z.int().min(0).max(MAX_EXTRACT_REPAIRS).default(2),
    })
    .refine(...onePromptOrMessages),
  output: z.object({
    data: z.unknown(),
    /** Answers sent back with their validation errors before one matched. */
    repairs: z.int(),
    model: z.string(),
    provider: z.string(),
    credential: ServedBy,
    usage: TokenUsage,
  }),
  errors: [...AI_ERRORS, 'extract_invalid'],
});
