import { credentialNames, rabbitmqPublishStep } from '@weft/definitions';
import type { EgressGuard } from '@weft/egress';
import { defineConnector } from '@weft/worker';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { ClientPool, credentialOfType, digest, publishFailure } from '../broker-clients';

interface Broker {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Why the broker closed the channel (a 404 for an unknown exchange), once it did. */
  closedBy?: Error;
}

/**
 * `rabbitmq.publish`: a confirm channel per credential (pooled, closed when idle); the step
 * succeeds once the broker confirmed the message, whose `messageId` is the step's key.
 */
export function rabbitmqPublishConnector() {
  const brokers = new ClientPool<Broker>(async ({ connection }) => {
    await connection.close();
  });
  const connector = defineConnector(rabbitmqPublishStep, async (input, context) => {
    const body =
      typeof input.body === 'string'
        ? { content: Buffer.from(input.body), contentType: 'text/plain' }
        : { content: Buffer.from(JSON.stringify(input.body)), contentType: 'application/json' };
    const served = await context.fallback(credentialNames(input.credential), async (opened) => {
      const credential = credentialOfType(opened, 'rabbitmq');
      const key = `${context.tenantId}:${credential.name}:${digest(credential.data)}`;
      try {
        await brokers.use(
          key,
          () => openBroker(credential.data.url, context.egress),
          (broker) =>
            new Promise<void>((resolve, reject) => {
              // The broker's reason for closing the channel arrives as its own event.
              const fail = (error: Error) => setImmediate(() => reject(broker.closedBy ?? error));
              broker.channel.publish(
                input.exchange,
                input.routingKey,
                body.content,
                {
                  persistent: input.persistent,
                  messageId: context.idempotencyKey,
                  contentType: body.contentType,
                  headers: input.headers ?? {},
                },
                (error) => (error ? fail(error as Error) : resolve()),
              );
            }),
        );
      } catch (error) {
        throw publishFailure(error, `exchange "${input.exchange}"`);
      }
    });
    return { confirmed: true as const, credential: served.credential };
  });
  return Object.freeze({ ...connector, close: () => brokers.closeAll() });
}

/** Connects to the address the egress guard checked (SNI keeps the name for amqps). */
async function openBroker(url: string, egress: EgressGuard): Promise<Broker> {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'amqps:';
  const port = Number(parsed.port || (secure ? 5671 : 5672));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const [address] = await egress.admit(host, `amqp broker ${host}:${port}`, port);
  const connection = await connect(
    {
      protocol: secure ? 'amqps' : 'amqp',
      hostname: address!.address,
      port,
      username: decodeURIComponent(parsed.username) || 'guest',
      password: decodeURIComponent(parsed.password) || 'guest',
      vhost: decodeURIComponent(parsed.pathname.slice(1)) || '/',
      heartbeat: 30,
    },
    { ...(secure ? { servername: host } : {}), timeout: 5_000 },
  );
  // A refused publish closes the channel; the pool drops the broker on the error it causes.
  connection.on('error', () => undefined);
  const channel = await connection.createConfirmChannel();
  const broker: Broker = { connection, channel };
  channel.on('error', (error: Error) => (broker.closedBy = error));
  return broker;
}
