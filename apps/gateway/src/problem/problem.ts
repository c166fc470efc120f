import {
  ErrorCatalogue,
  FieldProblem,
  type DomainErrorCode,
  type ErrorKind,
} from '@weft/contracts';
import { z } from 'zod';

/** An RFC 9457 problem document, the body of every error answer. */
export const Problem = z.object({
  type: z.string().describe('What went wrong, e.g. urn:weft:problem:workflow-archived'),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  errors: z.array(FieldProblem).optional(),
});
export type Problem = z.infer<typeof Problem>;

const problemType = (slug: string) => `urn:weft:problem:${slug}`;

/** `workflow_archived` → `urn:weft:problem:workflow-archived`. */
export const problemTypeOf = (code: DomainErrorCode): string =>
  problemType(code.replaceAll('_', '-'));

/** An error the gateway answers as it is; domain and worker code never see HTTP. */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
  }

  static invalidRequest(errors: FieldProblem[]): ProblemError {
    const detail = `${errors.length} problem${errors.length === 1 ? '' : 's'} in the request`;
    return problemFor('invalid_request', detail, errors);
  }

  static unauthorized(detail: string): ProblemError {
    return new ProblemError(
      { type: problemType('unauthorized'), title: 'Unauthorized', status: 401, detail },
      { 'www-authenticate': 'Bearer' },
    );
  }
}

/**
 * The one mapping of error codes to HTTP: the type names the code, the title is the
 * catalogue's, the status follows the code's kind.
 */
export function problemFor(
  code: DomainErrorCode,
  detail: string,
  problems: readonly FieldProblem[] = [],
): ProblemError {
  const { kind, title } = ErrorCatalogue[code];
  // Internal details stay in the log; the client learns only that it was not its fault.
  if (kind === 'internal') return internalError();
  return new ProblemError(
    {
      type: problemTypeOf(code),
      title,
      status: statusOf(kind),
      detail,
      ...(problems.length > 0 && { errors: [...problems] }),
    },
    kind === 'unavailable' ? { 'retry-after': '1' } : {},
  );
}

function statusOf(kind: ErrorKind): number {
  switch (kind) {
    case 'invalid':
      return 400;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'limited':
      return 429;
    case 'unavailable':
      return 503;
    case 'internal':
      return 500;
    default:
      return assertUnreachable(kind);
  }
}

export function problemForStatus(status: number, detail: string): ProblemError {
  if (status >= 500) return internalError();
  const title = STATUS_TITLES[status] ?? 'Request failed';
  return new ProblemError({
    type: problemType(title.toLowerCase().replaceAll(' ', '-')),
    title,
    status,
    detail,
  });
}

/**
 * 503 for a request the gateway turned away before doing any work, to stay responsive when
 * over capacity (http/load-shedding.ts). Retry-After tells clients when to come back.
 */
export function overloaded(detail: string, retryAfterSeconds: number): ProblemError {
  return new ProblemError(
    { type: problemType('overloaded'), title: 'Service unavailable', status: 503, detail },
    { 'retry-after': String(retryAfterSeconds) },
  );
}

const EVENT_STREAM_RETRY_AFTER_SECONDS = 5;

/**
 * 429 for an event stream over its tenant's limit of open streams (runs/events). One closes
 * when its run ends or its client leaves; Retry-After is a guess at when to look again.
 */
export function tooManyEventStreams(limit: number): ProblemError {
  return new ProblemError(
    {
      type: problemType('too-many-event-streams'),
      title: 'Too many event streams',
      status: 429,
      detail: `The tenant has ${limit} event streams open, its limit; close one first.`,
    },
    { 'retry-after': String(EVENT_STREAM_RETRY_AFTER_SECONDS) },
  );
}
export function internalError(): ProblemError {
  return new ProblemError({
    type: problemTypeOf('internal'),
    title: ErrorCatalogue.internal.title,
    status: statusOf(ErrorCatalogue.internal.kind),
    detail: 'The server could not complete the request; it has been logged.',
  });
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  431: 'Request header fields too large',
};

function assertUnreachable(value: never): never {
  throw new Error(`unhandled case: ${String(value)}`);
}
