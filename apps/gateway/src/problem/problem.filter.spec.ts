import type { ArgumentsHost } from '@nestjs/common';
import { JsonLogger } from '@weft/runtime';
import { ProblemFilter } from './problem.filter';

/** What the filter sends for `error`, through a stand-in of Fastify's reply. */
function answerTo(error: unknown) {
  const sent: { status?: number; headers?: Record<string, string>; body?: unknown } = {};
  const reply = {
    status: (status: number) => ((sent.status = status), reply),
    headers: (headers: Record<string, string>) => ((sent.headers = headers), reply),
    send: (body: unknown) => ((sent.body = body), reply),
  };
  const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
  new ProblemFilter(new JsonLogger('gateway', 'error', () => undefined)).catch(error, host);
  return sent;
}

describe('ProblemFilter', () => {
  it('answers 503 with Retry-After while PostgreSQL is unreachable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(answerTo(refused)).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1', 'content-type': 'application/problem+json' },
    });
  });

  it('answers 500 without details for any other error', () => {
    const answer = answerTo(new Error('secret internals'));
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('secret internals');
  });
});
