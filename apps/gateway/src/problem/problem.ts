import { FieldProblem, type RpcErrorCode } from '@weft/contracts';
import { z } from 'zod';

/** An RFC 9457 problem document, the body of every error answer. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  errors: z.array(FieldProblem).optional(),
});
export type Problem = z.infer<typeof Problem>;

const problemType = (slug: string) => `urn:weft:problem:${slug}`;

/** An error the gateway answers as it is; domain and worker code never see HTTP. */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
  }

  static invalidRequest(errors: FieldProblem[]): ProblemError {
    return new ProblemError({
      type: problemType('invalid-request'),
      title: 'The request is invalid',
      status: 400,
      detail: `${errors.length} problem${errors.length === 1 ? '' : 's'} in the request`,
      errors,
    });
  }

  static unauthorized(detail: string): ProblemError {
    return new ProblemError(
      { type: problemType('unauthorized'), title: 'Unauthorized', status: 401, detail },
      { 'www-authenticate': 'Bearer' },
    );
  }
}

/** `['steps', 2, 'needs']` → `$.steps[2].needs`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`),
    '$',
  );
}

/** The one mapping of RPC error codes to HTTP; the switch must name every code. */
export function problemForRpcCode(
  code: RpcErrorCode,
  detail: string,
  problems: readonly FieldProblem[] = [],
): ProblemError {
  switch (code) {
    case 'invalid_request':
      return problems.length
        ? ProblemError.invalidRequest([...problems])
        : new ProblemError({
            type: problemType('invalid-request'),
            title: 'The request is invalid',
            status: 400,
            detail,
          });
    case 'not_found':
      return new ProblemError({
        type: problemType('not-found'),
        title: 'Not found',
        status: 404,
        detail,
      });
    case 'conflict':
      return new ProblemError({
        type: problemType('conflict'),
        title: 'Conflict',
        status: 409,
        detail,
      });
    case 'unavailable':
      return new ProblemError(
        { type: problemType('unavailable'), title: 'Service unavailable', status: 503, detail },
        { 'retry-after': '1' },
      );
    case 'internal':
      return internalError();
    default:
      return assertUnreachable(code);
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

export function internalError(): ProblemError {
  return new ProblemError({
    type: problemType('internal'),
    title: 'Internal error',
    status: 500,
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
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
};

function assertUnreachable(value: never): never {
  throw new Error(`unhandled case: ${String(value)}`);
}
