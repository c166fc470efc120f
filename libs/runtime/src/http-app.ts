import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JsonLogger } from './logger';

/**
 * A Nest application on Fastify with the service's JSON logger. Every service has one: the
 * gateway serves the API on it, the others serve their health and readiness probes.
 */
export async function createHttpApp(
  root: DynamicModule,
  logger: JsonLogger,
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    root,
    // An approval link's token is one path segment of about 250 characters (Fastify's default
    // limit is 100).
    new FastifyAdapter({ bodyLimit: 2 * 1024 * 1024, routerOptions: { maxParamLength: 512 } }),
    { logger, abortOnError: false },
  );
  return app;
}
