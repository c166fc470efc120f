import type { JsonLogger } from './logger';

export interface Closable {
  close(): Promise<void>;
}

/**
 * Runs a started service until SIGTERM or SIGINT, then closes it and exits 0. Nest's own
 * shutdown hooks re-raise the signal after closing, which ends the process with 143; an
 * orchestrator reads that as a crash, so the signal is handled here instead. A close that
 * overruns the timeout exits 1 so a stuck drain is visible.
 */
export function exitOnSignal(service: Closable, logger: JsonLogger, timeoutMs: number): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.event('info', 'shutting down', { signal });
    const timer = setTimeout(() => {
      logger.event('error', 'shutdown timed out', { timeoutMs });
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    service.close().then(
      () => {
        logger.event('info', 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.event('error', 'shutdown failed', { err: error });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Prints a fatal start-up error as one JSON line and exits non-zero. */
export function exitOnStartupFailure(logger: JsonLogger): (error: unknown) => never {
  return (error) => {
    logger.event('error', 'start-up failed', {
      err: error instanceof Error ? error : new Error(String(error)),
    });
    process.exit(1);
  };
}

/**
 * Crash-only recovery from a lost connection that a client cannot re-establish by itself (the
 * RabbitMQ channels and consumers die with theirs): the process exits non-zero and its
 * supervisor — Kubernetes, compose's restart policy, the stack runner — starts a fresh one,
 * which redoes every declaration and consumer. Unacked work is redelivered meanwhile.
 */
export function exitOnLostConnection(logger: JsonLogger): (what: string) => void {
  return (what) => {
    logger.event('error', 'connection lost; exiting for a clean restart', { connection: what });
    process.exit(1);
  };
}
