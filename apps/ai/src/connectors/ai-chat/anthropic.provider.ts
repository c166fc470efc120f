import { CredentialData } from '@weft/contracts';
import { z } from 'zod';
import { ProviderFailure, type ChatProvider } from './chat-provider';
import { postJson } from './provider-http';

type AnthropicCredential = z.infer<typeof CredentialData.anthropic>;

const API_VERSION = '2023-06-01';
const DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** The Messages API requires a ceiling; this one is used when the step sets none. */
const DEFAULT_MAX_TOKENS = 4096;

/** The tool a schema is offered as: Anthropic's way to structured output is a forced tool call. */
const EXTRACT_TOOL = 'extract';

const MessagesResponse = z.object({
  model: z.string().optional(),
  content: z.array(
    z.object({ type: z.string(), text: z.string().optional(), input: z.unknown().optional() }),
  ),
  usage: z.object({ input_tokens: z.int().min(0), output_tokens: z.int().min(0) }).nullish(),
});

const ErrorBody = z.object({ error: z.object({ message: z.string() }) });

/** `https://api.anthropic.com`, with or without `/v1` and a trailing slash. */
export function messagesUrl(baseUrl: string = DEFAULT_BASE_URL): URL {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = `${path.endsWith('/v1') ? path : `${path}/v1`}/messages`;
  return url;
}

/** Anthropic's Messages API: system messages go to `system`, the rest stay in order. */
export const anthropicProvider: ChatProvider<AnthropicCredential> = {
  type: 'anthropic',
  credential: CredentialData.anthropic,
  complete: async ({ apiKey, baseUrl }, request, call) => {
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const body = await postJson(messagesUrl(baseUrl), {
      headers: {
        'x-api-key': apiKey,
        'anthropic-version': API_VERSION,
        'idempotency-key': call.idempotencyKey,
      },
      body: {
        model: request.model,
        max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
        messages: request.messages.filter((m) => m.role !== 'system'),
        ...(system.length ? { system: system.join('\n\n') } : {}),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        ...(request.schema === undefined
          ? {}
          : {
              tools: [
                {
                  name: EXTRACT_TOOL,
                  description: 'Record the extracted data.',
                  input_schema: request.schema,
                },
              ],
              tool_choice: { type: 'tool', name: EXTRACT_TOOL },
            }),
      },
      signal: call.signal,
      guard: call.guard,
      secret: apiKey,
      errorDetail: (error) => ErrorBody.safeParse(error).data?.error.message,
    });
    const parsed = MessagesResponse.safeParse(body);
    const text = parsed.success ? answerOf(parsed.data.content) : undefined;
    if (!parsed.success || text === undefined) {
      throw new ProviderFailure(
        'invalid_response',
        'answered without a text content block or a tool call',
      );
    }
    const { model, usage } = parsed.data;
    return {
      text,
      model: model ?? request.model,
      usage: { inputTokens: usage?.input_tokens ?? 0, outputTokens: usage?.output_tokens ?? 0 },
    };
  },
};

/** The tool call's input as JSON when the model made one (a schema was asked for), else the text. */
function answerOf(content: z.infer<typeof MessagesResponse>['content']): string | undefined {
  const call = content.find((block) => block.type === 'tool_use' && block.input !== undefined);
  if (call) return JSON.stringify(call.input);
  const texts = content.flatMap((block) =>
    block.type === 'text' && block.text !== undefined ? [block.text] : [],
  );
  return texts.length ? texts.join('') : undefined;
}
