import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/** A definition may be 1 MiB (SPEC §2); the rest leaves room for formatting. */
export const BODY_LIMIT_BYTES = 1024 * 1024 + 64 * 1024;

/**
 * Caps every route's body at BODY_LIMIT_BYTES, answered 413. The shared HTTP app's limit
 * is larger and applies to every service; routes are registered after providers are built,
 * so the hook added here sees each of them.
 */
@Injectable()
export class BodyLimit {
  constructor(adapterHost: HttpAdapterHost) {
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRoute', (route) => {
      route.bodyLimit ??= BODY_LIMIT_BYTES;
    });
  }
}
