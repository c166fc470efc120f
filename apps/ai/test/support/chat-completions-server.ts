import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 that speaks OpenAI's Chat Completions wire format
 * (`POST …/chat/completions`, Bearer auth) and Anthropic's Messages API (`POST /v1/messages`,
 * `x-api-key`), for tests of `ai.chat` from the connector up to the whole platform.
 */
export interface ChatCompletionsServer {
  /** `http://127.0.0.1:<port>/v1`, what an `openai` credential's `baseUrl` holds. */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every request received, in order, wrong key or not. */
  readonly requests: RecordedRequest[];
  /** What the following requests get, until told otherwise. */
  behave(behaviour: ServerBehaviour): void;
  /** Drops hanging requests and stops listening. */
  close(): Promise<void>;
}

export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or `{ raw }` when it was not JSON. */
  body: Record<string, unknown>;
}

/**
 * `answer` (the default): a completion whose text `reply` computes; `fail`: that status with a
 * provider-style error body, or `body` as it is; `hang`: never answers.
 */
export type ServerBehaviour =
  { kind: 'answer' } | { kind: 'fail'; status: number; body?: unknown } | { kind: 'hang' };

export interface ChatCompletionsServerOptions {
  /** The only key accepted; any other is answered 401, the key it sent quoted in the error. */
  apiKey: string;
  /** The text of each answer; by default `echo: <the last message>`. */
  reply?: (messages: { role: string; content: string }[]) => string;
  /** The model named in answers; by default the requested one. */
  model?: string;
}

interface ChatBody {
  model?: string;
  messages?: { role: string; content: string }[];
  /** Anthropic tools: with one, a JSON answer comes back as its tool call (as `ai.extract` asks). */
  tools?: { name: string }[];
}

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

export async function startChatCompletionsServer(
  options: ChatCompletionsServerOptions,
): Promise<ChatCompletionsServer> {
  const requests: RecordedRequest[] = [];
  let behaviour: ServerBehaviour = { kind: 'answer' };
  const reply =
    options.reply ?? ((messages) => `echo: ${messages.at(-1)?.content ?? '(no message)'}`);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: ChatBody | undefined;
      try {
        body = JSON.parse(text) as ChatBody;
      } catch {
        body = undefined;
      }
      const path = req.url ?? '/';
      requests.push({
        path,
        headers: req.headers,
        body: (body as Record<string, unknown> | undefined) ?? { raw: text },
      });
      const anthropic = path.split('?')[0] === '/v1/messages';
      if (req.method !== 'POST' || (!anthropic && !/\/chat\/completions(\?|$)/.test(path))) {
        return send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
      }
      const sentKey = anthropic
        ? String(req.headers['x-api-key'] ?? '')
        : (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (sentKey !== options.apiKey) {
        return send(res, 401, errorBody(anthropic, `Incorrect API key provided: ${sentKey}`));
      }
      if (behaviour.kind === 'hang') return;
      if (behaviour.kind === 'fail') {
        return send(
          res,
          behaviour.status,
          behaviour.body ?? errorBody(anthropic, `simulated ${behaviour.status}`),
        );
      }
      if (!body?.model || !Array.isArray(body.messages)) {
        return send(res, 400, errorBody(anthropic, 'model and messages are required'));
      }
      const answer = reply(body.messages);
      const model = options.model ?? body.model;
      const inputTokens = body.messages.reduce((sum, m) => sum + words(m.content), 0);
      const outputTokens = words(answer);
      return send(
        res,
        200,
        anthropic
          ? {
              id: `msg_${requests.length}`,
              type: 'message',
              role: 'assistant',
              model,
              content: [anthropicBlock(answer, body.tools?.[0]?.name)],
              stop_reason: 'end_turn',
              usage: { input_tokens: inputTokens, output_tokens: outputTokens },
            }
          : {
              id: `chatcmpl-${requests.length}`,
              object: 'chat.completion',
              created: Math.floor(Date.now() / 1000),
              model,
              choices: [
                {
                  index: 0,
                  message: { role: 'assistant', content: answer },
                  finish_reason: 'stop',
                },
              ],
              usage: {
                prompt_tokens: inputTokens,
                completion_tokens: outputTokens,
                total_tokens: inputTokens + outputTokens,
              },
            },
      );
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/v1`,
    origin,
    requests,
    behave: (next) => {
      behaviour = next;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

function errorBody(anthropic: boolean, message: string): unknown {
  return anthropic
    ? { type: 'error', error: { type: 'api_error', message } }
    : { error: { message, type: 'api_error', code: null } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A text block, or the call of `tool` when there is one and the answer is a JSON object. */
function anthropicBlock(answer: string, tool: string | undefined): Record<string, unknown> {
  if (tool) {
    try {
      const input: unknown = JSON.parse(answer);
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
        return { type: 'tool_use', id: 'toolu_1', name: tool, input };
      }
    } catch {
      // Not JSON: answered as text, as a model that ignored the tool would.
    }
  }
  return { type: 'text', text: answer };
}
