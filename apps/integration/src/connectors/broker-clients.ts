import { createHash } from 'node:crypto';
import { Socket } from 'node:net';
import type { OpenedCredential } from '@weft/contracts';
import { EgressDenied, type EgressGuard } from '@weft/egress';
import type { JsonLogger } from '@weft/runtime';
import { StepFailed } from '@weft/worker';
import { Kafka, logLevel, type ISocketFactory, type LogEntry, type SASLOptions } from 'kafkajs';

/**
 * Every broker connection passes the egress guard, the bootstrap brokers and those the
 * cluster's metadata advertises alike, and connects to the address the guard checked.
 */
export function guardedSockets(egress: EgressGuard): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const socket = new Socket();
    egress.admit(host, `kafka broker ${host}:${port}`, port).then(
      ([first]) => socket.connect({ host: first!.address, port }, onConnect),
      (error: Error) => socket.destroy(error),
    );
    return socket;
  };
}

/** A kafkajs client for a tenant's `kafka` credential, its connections through the guard. */
export function tenantKafka(
  credential: Extract<OpenedCredential, { type: 'kafka' }>,
  egress: EgressGuard,
  clientId: string,
  logger?: JsonLogger,
): Kafka {
  const { brokers, sasl } = credential.data;
  return new Kafka({
    clientId,
    brokers,
    ...(sasl ? { sasl: sasl as SASLOptions } : {}),
    socketFactory: guardedSockets(egress),
    connectionTimeout: 5_000,
    retry: { retries: 2 },
    logLevel: logLevel.ERROR,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...fields } = entry.log;
      logger?.event('warn', `tenant kafka: ${message}`, { ...fields, clientId });
    },
  });
}

/** A credential of `type`, or the step fails with `credential_invalid`. */
export function credentialOfType<T extends OpenedCredential['type']>(
  credential: OpenedCredential,
  type: T,
): Extract<OpenedCredential, { type: T }> {
  if (credential.type !== type) {
    throw new StepFailed(
      'credential_invalid',
      `credential "${credential.name}" is ${credential.type}, not ${type}`,
    );
  }
  return credential as Extract<OpenedCredential, { type: T }>;
}

/** A refusal of the egress guard, found among an error and its causes. */
export function egressDenial(error: unknown): EgressDenied | undefined {
  for (let at: unknown = error, depth = 0; at && depth < 5; depth++) {
    if (at instanceof EgressDenied) return at;
    at =
      (at as { cause?: unknown; originalError?: unknown }).cause ??
      (at as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * Clients kept per credential (its data included, so a rotated credential gets a new one) and
 * closed after a minute unused: a step does not pay a broker handshake per message. A client
 * that failed in a way that breaks it (`isBroken`: by default any failure) is not handed out
 * again, and is closed once the work still using it has finished, so one broken send does not
 * fail every other message in flight on the same client.
 */
export class ClientPool<C> {
  private readonly clients = new Map<string, PooledClient<C>>();

  constructor(
    private readonly close: (client: C) => Promise<void>,
    private readonly idleMs = 60_000,
    private readonly isBroken: (error: unknown) => boolean = () => true,
  ) {}

  async use<R>(key: string, open: () => Promise<C>, work: (client: C) => Promise<R>): Promise<R> {
    let entry = this.clients.get(key);
    if (!entry) {
      const opened: PooledClient<C> = { client: open(), inFlight: 0, retired: false };
      entry = opened;
      this.clients.set(key, opened);
      opened.client.catch(() => this.retire(key, opened));
    }
    clearTimeout(entry.timer);
    entry.inFlight++;
    try {
      return await work(await entry.client);
    } catch (error) {
      if (this.isBroken(error)) this.retire(key, entry);
      throw error;
    } finally {
      entry.inFlight--;
      if (entry.retired) this.closeWhenIdle(entry);
      else if (entry.inFlight === 0) {
        const idle = entry;
        idle.timer = setTimeout(() => this.retire(key, idle), this.idleMs);
        idle.timer.unref();
      }
    }
  }

  async closeAll(): Promise<void> {
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      entries.map(async (entry) => {
        clearTimeout(entry.timer);
        entry.retired = true;
        await entry.client.then(this.close).catch(() => undefined);
      }),
    );
  }

  /** No new work gets the client; it closes once the work using it ended. */
  private retire(key: string, entry: PooledClient<C>): void {
    if (this.clients.get(key) === entry) this.clients.delete(key);
    entry.retired = true;
    this.closeWhenIdle(entry);
  }

  private closeWhenIdle(entry: PooledClient<C>): void {
    if (entry.inFlight > 0 || entry.closed) return;
    entry.closed = true;
    clearTimeout(entry.timer);
    void entry.client.then(this.close, () => undefined).catch(() => undefined);
  }
}

interface PooledClient<C> {
  client: Promise<C>;
  inFlight: number;
  timer?: NodeJS.Timeout;
  /** Handed out no more. */
  retired: boolean;
  closed?: boolean;
}

/** A stable digest of a credential's data: a rotated credential gets a new client. */
export const digest = (data: unknown) =>
  createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16);

/**
 * A broker's failure as the step's: the egress guard's refusal, a failure worth another try
 * (a broker unreachable, a leader moving), or a refusal (an unknown topic, no permission).
 */
export function publishFailure(error: unknown, target: string): StepFailed {
  if (error instanceof StepFailed) return error;
  const denied = egressDenial(error);
  if (denied) return new StepFailed('egress_denied', denied.message);
  const message = (error as Error).message ?? String(error);
  // kafkajs gives up on a broker it could not reach with KafkaJSNumberOfRetriesExceeded, or
  // wraps the connection error in a KafkaJSNonRetriableError: "not retriable" for its own
  // client, while the step, with its own back-off, may still try again (a broker restarting).
  const unreachable =
    (error as Error).name === 'KafkaJSNumberOfRetriesExceeded' ||
    /Connection error|Connection timeout|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/i.test(
      message,
    );
  const retriable = unreachable ? true : (error as { retriable?: boolean }).retriable;
  const refused =
    /UNKNOWN_TOPIC|does not host this topic-partition|AUTHORIZATION|NOT_FOUND|404|403|ACCESS_REFUSED/i.test(
      message,
    );
  if (refused || retriable === false) {
    return new StepFailed('publish_failed', `${target}: ${message}`.slice(0, 1000));
  }
  return new StepFailed('connection_failed', `${target}: ${message}`.slice(0, 1000), {
    retryable: true,
  });
}
