import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { EgressDenied, EgressGuard, parseEgressAllow } from '@weft/egress';
import { guardedSockets, publishFailure } from './broker-clients';

/** Kafka broker connections (event triggers, kafka.publish) pass the egress guard. */
describe('guardedSockets', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const connect = (allow: string) =>
    new Promise<'connected' | Error>((resolve) => {
      const factory = guardedSockets(new EgressGuard(parseEgressAllow(allow)));
      const socket = factory({
        host: '127.0.0.1',
        port,
        ssl: false as never,
        onConnect: () => {
          socket.destroy();
          resolve('connected');
        },
      });
      socket.once('error', resolve);
    });

  it('refuses a broker on a private address unless WEFT_EGRESS_ALLOW admits it', async () => {
    const refused = await connect('');
    expect(refused).toBeInstanceOf(EgressDenied);
    expect((refused as Error).message).toContain(`kafka broker 127.0.0.1:${port}`);
    expect(await connect('127.0.0.1/32')).toBe('connected');
  });
});

describe('publishFailure', () => {
  it('makes a broker that stayed unreachable through the client’s retries a retryable connection failure', () => {
    const unreachable = new KafkaJSNumberOfRetriesExceeded(
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
      { retryCount: 5, retryTime: 1000 },
    );
    expect(publishFailure(unreachable, 'kafka topic t').error).toMatchObject({
      code: 'connection_failed',
      retryable: true,
    });
  });

  it('makes a connection error that kafkajs calls non-retriable a retryable connection failure', () => {
    // As seen in the fault suite while the broker restarted.
    const refused = new KafkaJSNonRetriableError(
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
    );
    expect(publishFailure(refused, 'kafka topic t').error).toMatchObject({
      code: 'connection_failed',
      retryable: true,
    });
  });

  it('keeps a refusal by the broker final', () => {
    const unknown = new KafkaJSProtocolError('This server does not host this topic-partition');
    expect(publishFailure(unknown, 'kafka topic t').error).toMatchObject({
      code: 'publish_failed',
      retryable: false,
    });
  });
});
