import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { DomainError, ErrorCatalogue } from '@weft/contracts';
import { isDatabaseUnavailable } from '@weft/persistence';
import { JsonLogger } from '@weft/runtime';
import type { FastifyReply } from 'fastify';
import { internalError, problemFor, problemForStatus, ProblemError } from './problem';

/** Turns every error of the HTTP API into `application/problem+json`, in one place. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const { problem, headers } = this.toProblem(error);
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(problem.status)
      .headers({ ...headers, 'content-type': 'application/problem+json' })
      .send(problem);
  }

  private toProblem(error: unknown): ProblemError {
    if (error instanceof ProblemError) return error;
    if (error instanceof DomainError) {
      const { kind } = ErrorCatalogue[error.code];
      if (kind === 'internal' || kind === 'unavailable') {
        this.logger.event('error', 'rpc call failed', { code: error.code, err: error });
      }
      return problemFor(error.code, error.message, error.problems);
    }
    if (error instanceof HttpException) return problemForStatus(error.getStatus(), error.message);
    // Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx status.
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return problemForStatus(status, (error as Error).message);
    }
    if (isDatabaseUnavailable(error)) {
      // The gateway's own tables (API keys) while PostgreSQL restarts: come back shortly.
      this.logger.event('warn', 'database unavailable', { err: error });
      return problemFor('unavailable', 'the database is unavailable; try again');
    }
    this.logger.event('error', 'unhandled error', { err: error });
    return internalError();
  }
}
