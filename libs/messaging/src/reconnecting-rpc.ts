import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError, type RequestOf, type ResponseOf, type RpcService } from '@weft/contracts';
import { exponentialBackoffMs, type JsonLogger, type ReadinessRegistry } from '@weft/runtime';
import { AmqpBroker } from './amqp';
import type { Drainable, RpcClient } from './ports';

/**
 * An RPC client that outlives its RabbitMQ connection. The services that consume queues exit
 * when the connection drops and let their supervisor start them afresh (`exitOnLostConnection`:
 * every consumer and declaration is redone). A process that only calls has nothing to redo but
 * its reply channel, and exiting would refuse every connection its HTTP port gets until the
 * new process listens — with every gateway replica losing RabbitMQ at once (a broker restart),
 * that is every client's connection. So this one stays up: calls made while it reconnects are
 * answered `unavailable` (503 with Retry-After) at once, readiness fails, and the connection
 * is opened again with back-off until the broker is back.
 */
export class ReconnectingRpcClient implements RpcClient, Drainable {
  private broker: AmqpBroker | undefined;
  private reconnecting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly url: string,
    private readonly options: { name: string; logger: JsonLogger },
  ) {}

  /** The first connection must succeed: a process that never reached RabbitMQ does not start. */
  static async connect(
    url: string,
    options: { name: string; logger: JsonLogger; readiness?: ReadinessRegistry },
  ): Promise<ReconnectingRpcClient> {
    const client = new ReconnectingRpcClient(url, options);
    client.broker = await client.open();
    options.readiness?.register('rabbitmq', () => client.check());
    return client;
  }

  private open(): Promise<AmqpBroker> {
    return AmqpBroker.connect(this.url, {
      name: this.options.name,
      logger: this.options.logger,
      onLost: () => this.lost(),
    });
  }

  private lost(): void {
    this.broker = undefined;
    if (this.closed || this.reconnecting) return;
    this.reconnecting = this.reconnect().finally(() => (this.reconnecting = undefined));
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await sleep(exponentialBackoffMs(attempt, 250, 5_000));
      if (this.closed) return;
      try {
        const broker = await this.open();
        if (this.closed) {
          await broker.close();
          return;
        }
        this.broker = broker;
        this.options.logger.event('info', 'rabbitmq reconnected', { attempts: attempt + 1 });
        return;
      } catch (error) {
        this.options.logger.event('warn', 'rabbitmq reconnect failed; retrying', {
          attempt: attempt + 1,
          err: error,
        });
      }
    }
  }

  private async check(): Promise<void> {
    if (!this.broker) throw new Error('RabbitMQ connection lost; reconnecting');
    await this.broker.check();
  }

  call<Svc extends RpcService, K extends keyof Svc['methods'] & string>(
    service: Svc,
    method: K,
    request: RequestOf<Svc['methods'][K]>,
    options?: { timeoutMs?: number },
  ): Promise<ResponseOf<Svc['methods'][K]>> {
    if (!this.broker) {
      return Promise.reject(
        new DomainError('unavailable', 'RabbitMQ connection lost; reconnecting'),
      );
    }
    return this.broker.call(service, method, request, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reconnecting;
    await this.broker?.close();
    this.broker = undefined;
  }
}
