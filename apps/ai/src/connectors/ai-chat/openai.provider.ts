import { CredentialData } from '@weft/contracts';
import { z } from 'zod';
import { ProviderFailure, type ChatProvider } from './chat-provider';
import { postJson } from './provider-http';

const ChatCompletionResponse = z.object({
  model: z.string().optional(),
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
  usage: z.object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) }).nullish(),
});

type OpenAiCredential = z.infer<typeof CredentialData.openai>;

const ErrorBody = z.object({ error: z.object({ message: z.string() }) });

/**
 * `https://api.openai.com`, `…/v1` and `…/v1/` all name the same API; a base URL with a
 * path of its own (`…/openai/v1`, `…/v1beta/openai`) is taken as it is.
 */
export function chatCompletionsUrl(baseUrl: string): URL {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = `${path || '/v1'}/chat/completions`;
  return url;
}

/** Any server of the Chat Completions API: OpenAI, vLLM, Ollama, llama.cpp, LiteLLM… */
export const openAiProvider: ChatProvider<OpenAiCredential> = {
  type: 'openai',
  credential: CredentialData.openai,
  complete: async ({ baseUrl, apiKey }, request, call) => {
    const body = await postJson(chatCompletionsUrl(baseUrl), {
      headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': call.idempotencyKey },
      body: {
        model: request.model,
        messages: request.messages,
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
        // Structured outputs; `strict` would refuse schemas outside OpenAI's subset.
        ...(request.schema === undefined
          ? {}
          : {
              response_format: {
                type: 'json_schema',
                json_schema: { name: 'extract', schema: request.schema, strict: false },
              },
            }),
      },
      signal: call.signal,
      guard: call.guard,
      secret: apiKey,
      errorDetail: (error) => ErrorBody.safeParse(error).data?.error.message,
    });
    const parsed = ChatCompletionResponse.safeParse(body);
    if (!parsed.success) {
      throw new ProviderFailure('invalid_response', 'answered without choices[0].message.content');
    }
    const { model, choices, usage } = parsed.data;
    return {
      text: choices[0]!.message.content,
      model: model ?? request.model,
      usage: {
        inputTokens: usage?.prompt_tokens ?? 0,
        outputTokens: usage?.completion_tokens ?? 0,
      },
    };
  },
};
