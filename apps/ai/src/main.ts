// Telemetry first: its instrumentations patch modules as they are loaded.
import { startTelemetry } from '@weft/runtime/telemetry';
const telemetry = startTelemetry('ai');

import { AmqpBroker, connectEventLog } from '@weft/messaging';
import { databaseOptionsOf, openDatabase } from '@weft/persistence';
import {
  createHttpApp,
  exitOnLostConnection,
  exitOnSignal,
  exitOnStartupFailure,
  JsonLogger,
  loadConfig,
  ReadinessRegistry,
} from '@weft/runtime';
import { breakerSettingsOf } from '@weft/worker';
import { configSchema } from './config';
import { aiDatabase } from './database';
import { AiModule } from './ai.module';

async function main(logger: JsonLogger): Promise<void> {
  const config = loadConfig(configSchema);
  const readiness = new ReadinessRegistry();
  const dataSource = await openDatabase(
    aiDatabase,
    { ...databaseOptionsOf(config, logger), poolSize: 4 },
    readiness,
  );
  const events = await connectEventLog({
    clientId: 'weft-ai',
    brokers: config.KAFKA_BROKERS,
    partitions: config.KAFKA_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    logger,
    readiness,
  });
  const broker = await AmqpBroker.connect(config.RABBITMQ_URL, {
    name: 'weft-ai',
    logger,
    readiness,
    onLost: exitOnLostConnection(logger),
  });
  const app = await createHttpApp(
    AiModule.forRoot({
      logger,
      readiness,
      tasks: broker,
      events,
      prefetch: config.TASK_PREFETCH,
      heartbeatMs: config.WEFT_HEARTBEAT_MS,
      dataSource,
      // The broker also carries RPC: the vault answers on the integration service's queue.
      rpc: broker,
      keyRing: config.WEFT_SECRET_KEY,
      providerTimeoutMs: config.AI_PROVIDER_TIMEOUT_MS,
      egressAllow: config.WEFT_EGRESS_ALLOW,
      breakers: breakerSettingsOf(config),
    }),
    logger,
  );
  await app.listen(config.PORT, config.HOST);
  // Step cancellations: the worker subscribed while the app started.
  await events.start();
  logger.event('info', 'ai service ready', {
    port: config.PORT,
    egressAllow: config.WEFT_EGRESS_ALLOW.entries,
  });
  exitOnSignal(
    {
      // Stop taking tasks and finish those in flight (their results still need Kafka), then
      // the rest.
      close: async () => {
        await broker.close();
        await events.close();
        await app.close();
        await dataSource.destroy();
        await telemetry.shutdown();
      },
    },
    logger,
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

const logger = JsonLogger.forService('ai').captureProcessWarnings();
main(logger).catch(exitOnStartupFailure(logger));
