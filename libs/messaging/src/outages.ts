import { DomainError, type RpcService } from '@weft/contracts';
import type { RpcHandlers } from './ports';

/**
 * The same handlers, except that an error `isOutage` recognises (a database restarting)
 * answers `unavailable`, which callers retry and the gateway turns into 503 with Retry-After,
 * instead of `internal`.
 */
export function answerOutagesAsUnavailable<Svc extends RpcService>(
  handlers: RpcHandlers<Svc>,
  isOutage: (error: unknown) => boolean,
): RpcHandlers<Svc> {
  const wrapped: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const [method, handler] of Object.entries(
    handlers as Record<string, (request: unknown) => Promise<unknown>>,
  )) {
    wrapped[method] = async (request) => {
      try {
        return await handler(request);
      } catch (error) {
        if (!(error instanceof DomainError) && isOutage(error)) {
          throw new DomainError('unavailable', `${method} cannot be served right now; try again`);
        }
        throw error;
      }
    };
  }
  return wrapped as RpcHandlers<Svc>;
}
