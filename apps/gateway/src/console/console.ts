import { existsSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import { JsonLogger } from '@weft/runtime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { problemForStatus } from '../problem/problem';
import { CONSOLE_DIR } from '../tokens';

/**
 * The web console's routes, none of them part of the API (the OpenAPI document describes the
 * API; its test leaves these out by this list).
 */
export const CONSOLE_ROUTES: readonly string[] = ['GET /', 'GET /assets/*', 'GET /*'];

/**
 * The page's Content-Security-Policy: scripts, styles and everything else from this origin
 * only, nothing inline, no plugins, no framing, and API calls to this origin alone.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that are the API's, or its probes': a missing one is the API's 404, never the page. */
const API_PATH = /^\/(v1|health|ready|metrics)(\/|$)/;

/** The request's path, without its query. */
const pathOf = (request: FastifyRequest) => request.url.split('?')[0]!;

/**
 * Where the console's build is: apps/console/dist beside apps/gateway, from the gateway's
 * sources (src/console) as from its build (dist/console), in this repository and in its image.
 */
export const DEFAULT_CONSOLE_DIR = join(__dirname, '../../../console/dist');

const PAGE_HEADERS = {
  'cache-control': 'no-cache',
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Serves the web console (apps/console, a single-page app built to static files) at `/`:
 * - /assets/*: the bundle's content-hashed files, cached for a year (immutable);
 * - /: index.html, revalidated on every load (no-cache) so a deploy shows at once, with the CSP;
 * - other paths outside the API: index.html too, for the console's own router (a deep link
 *   such as /runs/<id>); but a path of the API, or one naming a file that is not there, is
 *   the usual 404 problem.
 * Without a build (the gateway run from source without `npm run build`), these paths answer
 * a 404 problem that says so; the API is unaffected either way.
 */
@Injectable()
export class ConsoleAssets {
  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(CONSOLE_DIR) consoleDir: string | null,
    logger: JsonLogger,
  ) {
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const root = consoleDir && existsSync(join(consoleDir, 'index.html')) ? consoleDir : null;
    if (!root) {
      logger.event('warn', 'web console not built: / answers 404', { dir: consoleDir });
      const missing = (request: FastifyRequest, reply: FastifyReply) => {
        if (API_PATH.test(pathOf(request))) return reply.callNotFound();
        const { problem } = problemForStatus(
          404,
          'The web console is not built: run `npm run build` (it builds apps/console/dist).',
        );
        return reply.code(404).type('application/problem+json').send(problem);
      };
      fastify.get('/', missing);
      fastify.get('/assets/*', missing);
      fastify.get('/*', missing);
      return;
    }
    // Files at the build's top level besides the page (favicon.svg): served by name.
    const topLevel = new Set(
      readdirSync(root, { withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name !== 'index.html')
        .map((entry) => entry.name),
    );
    void fastify.register(async (scope) => {
      await scope.register(fastifyStatic, {
        root: join(root, 'assets'),
        prefix: '/assets/',
        immutable: true,
        maxAge: '365d',
        index: false,
        // sendFile below serves the page and the top-level files from `root`.
        decorateReply: true,
      });
      const page = (_request: FastifyRequest, reply: FastifyReply) =>
        reply.headers(PAGE_HEADERS).sendFile('index.html', root, { cacheControl: false });
      scope.get('/', page);
      scope.get('/*', (request, reply) => {
        const path = pathOf(request);
        if (API_PATH.test(path)) return reply.callNotFound();
        // Fastify has answered 400 already to a path that is not valid percent-encoding.
        const name = decodeURIComponent(path.slice(1));
        if (topLevel.has(name)) {
          return reply
            .header('cache-control', 'no-cache')
            .sendFile(name, root, { cacheControl: false });
        }
        // A file that is not there (an old bundle's chunk): a 404, not a page as a script.
        if (extname(path) !== '') return reply.callNotFound();
        return page(request, reply);
      });
    });
  }
}
