import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { APPROVALS_PREFIX } from '../approvals/approvals.controller';
import { BODY_LIMIT_BYTES } from '../http/body-limit';
import { isYamlDefinition, parseYamlDefinition } from '../http/yaml-body';

const HOOK_PREFIX = '/v1/hooks/';
const isHook = (url: string) => url.startsWith(HOOK_PREFIX);

type WithRawBody = FastifyRequest & { weftRawBody?: Buffer };

/** The bytes a webhook delivery's signature covers, exactly as they arrived. */
export const rawBodyOf = (request: FastifyRequest): Buffer =>
  (request as WithRawBody).weftRawBody ?? Buffer.alloc(0);

/**
 * Webhook bodies for `POST /v1/hooks/…`: every body is kept raw before any parser reads it (a
 * signature covers the exact bytes, not a re-serialised JSON), and any media type is accepted
 * there (form posts, plain text, XML become `input.raw`); approval links take form posts too,
 * and workflow saves YAML. Other routes keep answering 415 for a media type they do not read.
 */
@Injectable()
export class HookBodies {
  constructor(adapterHost: HttpAdapterHost) {
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('preParsing', async (request, _reply, payload) => {
      if (!isHook(request.url)) return payload;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of payload as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > BODY_LIMIT_BYTES) throw withStatus(new Error('the body is too large'), 413);
        chunks.push(chunk);
      }
      const raw = Buffer.concat(chunks);
      (request as WithRawBody).weftRawBody = raw;
      return Readable.from(raw.length > 0 ? [raw] : []);
    });
    fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      // Approval links take a form post from their page.
      if (isHook(request.url) || request.url.startsWith(APPROVALS_PREFIX)) return done(null, body);
      if (isYamlDefinition(request)) {
        try {
          return done(null, parseYamlDefinition((body as Buffer).toString('utf8')));
        } catch (error) {
          return done(withStatus(error as Error, 400), undefined);
        }
      }
      const type = request.headers['content-type'] ?? '';
      done(withStatus(new Error(`Unsupported Media Type: ${type}`), 415), undefined);
    });
  }
}

/** Headers that never reach `event`: they carry credentials or the signature. */
const WITHHELD_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-weft-signature',
]);

/** A delivery as `input`: JSON parsed, form-urlencoded as an object, else `{ raw: text }`. */
export function deliveryInput(request: FastifyRequest, raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return request.body;
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  return { raw: raw.toString('utf8') };
}

/** A delivery's headers for `event`, without credentials or the signature. */
export function deliveryHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || WITHHELD_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** An error Fastify's error handling answers with `statusCode` (the problem filter maps it). */
export function withStatus(error: Error, statusCode: number): Error {
  return Object.assign(error, { statusCode });
}
