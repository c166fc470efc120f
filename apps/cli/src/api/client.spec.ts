import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiClient, ApiError, ok } from './client';

/** A loopback server answering 429 with `retryAfter` to the first `limited` requests. */
async function rateLimited(limited: number, retryAfter: string) {
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      bodies.push(body);
      if (bodies.length <= limited) {
        response.writeHead(429, {
          'content-type': 'application/problem+json',
          'retry-after': retryAfter,
        });
        response.end(
          JSON.stringify({ type: 'x', title: 'Rate limited', status: 429, detail: 'slow down' }),
        );
        return;
      }
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 'w', received: JSON.parse(body) as unknown }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, bodies, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('the API client', () => {
  it('waits out a 429’s Retry-After and sends the request again, body included', async () => {
    const server = await rateLimited(2, '0');
    try {
      const api = apiClient({ url: `${server.url}/`, apiKey: 'wk_x' });
      const saved = await ok(
        api.POST('/v1/workflows', { body: { name: 'a', steps: [], triggers: [] } }),
      );
      expect(saved).toMatchObject({ received: { name: 'a' } });
      expect(server.bodies).toHaveLength(3);
      expect(new Set(server.bodies).size).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('answers the 429 as an error when the wait would be long, or after its tries', async () => {
    for (const [limited, retryAfter, requests] of [
      [1, '60', 1],
      [10, '0', 4],
    ] as const) {
      const server = await rateLimited(limited, retryAfter);
      try {
        const api = apiClient({ url: server.url, apiKey: 'wk_x' });
        const error = await ok(api.GET('/v1/workflows', {})).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ApiError);
        expect((error as ApiError).message).toBe('Rate limited: slow down');
        expect(server.bodies).toHaveLength(requests);
      } finally {
        await server.close();
      }
    }
  });
});
