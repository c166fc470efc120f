/** Socket errors of a PostgreSQL connection that is gone or cannot be made. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND']);

/**
 * Whether `error` means PostgreSQL is unreachable for now (restarting, failing over, out of
 * connections) rather than that the statement is wrong: callers answer "try again" (503 with
 * Retry-After) instead of an internal error. SQLSTATE classes 08 (connection exception), 53
 * (insufficient resources) and 57P (operator intervention: shutdown, cannot connect now).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    if (typeof cause !== 'object') return false;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (SOCKET_CODES.has(code) || /^(08|53|57P)/.test(code)) return true;
    }
    // pg's own wording when the server ends the connection under a query.
    if (
      typeof message === 'string' &&
      /^Connection terminated|timeout exceeded when trying to connect/.test(message)
    ) {
      return true;
    }
    // TypeORM wraps the driver's error as driverError; Node errors chain through cause.
    cause =
      (cause as { driverError?: unknown; cause?: unknown }).driverError ??
      (cause as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether the same statement may succeed if tried again unchanged: an outage, a serialization
 * failure or deadlock (class 40), a lock or statement timeout (55P03, 57014). Anything else —
 * data the database refuses (class 22: U+0000 in jsonb, a value out of range; class 23; 54:
 * too large) or a bug — fails the same way every time, so retrying it in place would block
 * whatever waits behind it.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    if (typeof cause !== 'object') return false;
    const { code } = cause as { code?: unknown };
    if (typeof code === 'string' && /^(40|55P03$|57014$)/.test(code)) return true;
    cause =
      (cause as { driverError?: unknown; cause?: unknown }).driverError ??
      (cause as { cause?: unknown }).cause;
  }
  return false;
}
