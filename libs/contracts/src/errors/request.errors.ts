import type { ErrorEntry } from './error-entry';

/** Errors of any request, whatever its feature; the transport itself answers the last three. */
export const RequestErrors = {
  invalid_cursor: { kind: 'invalid', title: 'Invalid cursor' },
  // An API key without the scope the route needs (a `read` key on a route that writes); the
  // name is OAuth's (RFC 6750), which clients may already know.
  insufficient_scope: { kind: 'forbidden', title: 'Insufficient scope' },
  invalid_request: { kind: 'invalid', title: 'The request is invalid' },
  // Over the tenant's requestsPerSecond or runsPerSecond; Retry-After says when to come back.
  rate_limited: { kind: 'limited', title: 'Too many requests' },
  unavailable: { kind: 'unavailable', title: 'Service unavailable' },
  internal: { kind: 'internal', title: 'Internal error' },
} as const satisfies Record<string, ErrorEntry>;
