// Telemetry first: its instrumentations patch modules as they are loaded.
import { startTelemetry } from '@weft/runtime/telemetry';
const telemetry = startTelemetry('workflow');

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
import { configSchema } from './config';
import { workflowDatabase } from './database';
import { WorkflowModule } from './workflow.module';

async function main(logger: JsonLogger): Promise<void> {
  const config = loadConfig(configSchema);
  const readiness = new ReadinessRegistry();
  const dataSource = await openDatabase(
    workflowDatabase,
    databaseOptionsOf(config, logger),
    readiness,
  );
  const broker = await AmqpBroker.connect(config.RABBITMQ_URL, {
    name: 'weft-workflow',
    logger,
    readiness,
    onLost: exitOnLostConnection(logger),
  });
  const events = await connectEventLog({
    clientId: 'weft-workflow',
    brokers: config.KAFKA_BROKERS,
    partitions: config.KAFKA_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    logger,
    readiness,
  });
  const app = await createHttpApp(
    WorkflowModule.forRoot({
      logger,
      readiness,
      dataSource,
      rpc: broker,
      tasks: broker,
      events,
      policy: { leaseGraceMs: config.WEFT_LEASE_GRACE_MS },
      retentionMonths: config.WEFT_RUN_RETENTION_MONTHS,
      defaultConcurrentRuns: config.WEFT_TENANT_CONCURRENT_RUNS,
      publicUrl: config.WEFT_PUBLIC_URL,
    }),
    logger,
  );
  await app.listen(config.PORT, config.HOST);
  await events.start();
  logger.event('info', 'workflow service ready', { port: config.PORT });
  exitOnSignal(
    {
      // Stop taking messages first, then the probes' HTTP server, then the pool.
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

const logger = JsonLogger.forService('workflow').captureProcessWarnings();
main(logger).catch(exitOnStartupFailure(logger));
