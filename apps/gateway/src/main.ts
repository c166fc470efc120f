// Telemetry first: its instrumentations patch modules as they are loaded.
import { startTelemetry } from '@weft/runtime/telemetry';
const telemetry = startTelemetry('gateway');

import { Redis } from 'ioredis';
import { connectEventLog, ReconnectingRpcClient } from '@weft/messaging';
import { databaseOptionsOf, openDatabase, openReadReplica } from '@weft/persistence';
import {
  createHttpApp,
  exitOnSignal,
  exitOnStartupFailure,
  JsonLogger,
  loadConfig,
  ReadinessRegistry,
} from '@weft/runtime';
import { resolveAdminKey } from './admin/admin-key';
import { configSchema } from './config';
import { tenantLimitDefaultsOf } from './tenants/tenant-limits';
import { gatewayDatabase } from './database';
import { listenGateway } from './http/http-server';
import { GatewayModule } from './gateway.module';

async function main(logger: JsonLogger): Promise<void> {
  const config = loadConfig(configSchema);
  const readiness = new ReadinessRegistry();
  const dataSource = await openDatabase(
    gatewayDatabase,
    databaseOptionsOf(config, logger),
    readiness,
  );
  // Run lists may read a streaming replica; runs by id stay on the primary (ADR 0021).
  const readDataSource = config.DATABASE_READ_URL
    ? await openReadReplica(gatewayDatabase, { url: config.DATABASE_READ_URL }, readiness)
    : undefined;
  // Redis holds the tenants' rate windows, shared by the replicas. Lazy, so a Redis outage shows
  // on /ready rather than stopping the start. A command that takes longer than the timeout
  // fails, and the request is counted in this process instead (tenants/rate-limits.ts).
  // Auto-pipelining sends the commands of one event-loop turn in one write. It came with the
  // in-memory block of a used-up window (tenants/rate-limits.ts) and was measured with it, not
  // alone (docs/performance.md, "Refusals a flooding client waits for").
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout: 250,
  });
  await redis.connect();
  readiness.register('redis', () => redis.ping());
  // The gateway only calls: it rides out a RabbitMQ restart answering 503s rather than exiting
  // (and refusing connections) as the consuming services do.
  const broker = await ReconnectingRpcClient.connect(config.RABBITMQ_URL, {
    name: 'weft-gateway',
    logger,
    readiness,
  });
  const events = await connectEventLog({
    clientId: 'weft-gateway',
    brokers: config.KAFKA_BROKERS,
    partitions: config.KAFKA_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    logger,
    readiness,
  });
  const adminKey = resolveAdminKey(config.WEFT_ADMIN_KEY);
  const app = await createHttpApp(
    GatewayModule.forRoot({
      logger,
      readiness,
      dataSource,
      ...(readDataSource ? { readDataSource } : {}),
      rpc: broker,
      events,
      adminKey: adminKey.key,
      rpcTimeoutMs: config.RPC_TIMEOUT_MS,
      loadShedding: {
        maxInFlight: config.GATEWAY_MAX_IN_FLIGHT,
        maxPending: config.GATEWAY_MAX_PENDING,
        maxEventLoopDelayMs: config.GATEWAY_MAX_EVENT_LOOP_DELAY_MS,
        maxShedAnswerDelayMs: config.GATEWAY_MAX_SHED_ANSWER_DELAY_MS,
      },
      limits: {
        requestTimeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
        maxConnectionsPerAddress: config.GATEWAY_MAX_CONNECTIONS_PER_ADDRESS,
        maxEventStreamsPerTenant: config.GATEWAY_MAX_EVENT_STREAMS_PER_TENANT,
      },
      tenantLimits: tenantLimitDefaultsOf(config),
      rateLimitStore: redis,
      platformRunsPerSecond: config.WEFT_PLATFORM_RUNS_PER_SECOND,
      requestLog: config.WEFT_REQUEST_LOG,
    }),
    logger,
  );
  const listener = await listenGateway(app, config.PORT, config.HOST, config.GATEWAY_SHARE_PORT);
  // The run-event streams subscribed while the app initialised; consumption starts now.
  await events.start();
  logger.event('info', 'gateway ready', { url: `http://${config.HOST}:${config.PORT}` });
  if (adminKey.generated) {
    process.stdout.write(`WEFT_ADMIN_KEY was not set; this run's admin key: ${adminKey.key}\n`);
  }
  exitOnSignal(
    {
      // Stop accepting requests and answer those in flight, then close connections.
      close: async () => {
        listener.stopAccepting();
        await app.close();
        await events.close();
        await broker.close();
        redis.disconnect();
        await readDataSource?.destroy();
        await dataSource.destroy();
        await telemetry.shutdown();
      },
    },
    logger,
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

const logger = JsonLogger.forService('gateway').captureProcessWarnings();
main(logger).catch(exitOnStartupFailure(logger));
