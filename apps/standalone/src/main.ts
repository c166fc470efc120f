// Telemetry first: its instrumentations patch modules as they are loaded.
import { startTelemetry } from '@weft/runtime/telemetry';
const telemetry = startTelemetry('standalone');

import { resolve } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { AiModule, aiDatabase } from '@weft/ai';
import { GatewayModule, gatewayDatabase, tenantLimitDefaultsOf } from '@weft/gateway';
import { IntegrationModule, integrationDatabase } from '@weft/integration';
import { InProcessBus } from '@weft/messaging';
import { openDatabase, type ServiceDatabase } from '@weft/persistence';
import {
  createHttpApp,
  exitOnSignal,
  exitOnStartupFailure,
  JsonLogger,
  loadConfig,
  ReadinessRegistry,
} from '@weft/runtime';
import { breakerSettingsOf } from '@weft/worker';
import { parseKeyRing } from '@weft/secrets';
import { WorkflowModule, workflowDatabase } from '@weft/workflow';
import type { DataSource } from 'typeorm';
import { describeAdminKey, persistentAdminKey, persistentSecretKey } from './persistent-secrets';
import { configSchema } from './config';
import { startEmbeddedPostgres } from './embedded-postgres';

/**
 * The whole platform in one process: the four services' modules, each with its own schema in
 * an embedded PostgreSQL, talking through the in-process transport instead of the brokers.
 */
async function main(logger: JsonLogger): Promise<void> {
  const config = loadConfig(configSchema);
  const dataDir = resolve(config.WEFT_DATA_DIR);
  const postgres = await startEmbeddedPostgres(dataDir, config.WEFT_EMBEDDED_PG_PORT, logger);
  const dataSources: DataSource[] = [];
  const open = async (database: ServiceDatabase, readiness?: ReadinessRegistry) => {
    const dataSource = await openDatabase(database, { url: postgres.url, poolSize: 4 }, readiness);
    dataSources.push(dataSource);
    return dataSource;
  };

  const bus = new InProcessBus(logger);
  const readiness = new ReadinessRegistry();
  const quiet = new ReadinessRegistry(); // The gateway's /ready covers the one shared database.
  const adminKey = persistentAdminKey(dataDir, config.WEFT_ADMIN_KEY);
  const keyRing = parseKeyRing(persistentSecretKey(dataDir, config.WEFT_SECRET_KEY));
  // One SSRF allow list for every service whose steps call out.
  const egressAllow = config.WEFT_EGRESS_ALLOW;

  const apps: INestApplication[] = [];
  const workflowDataSource = await open(workflowDatabase);
  const integrationDataSource = await open(integrationDatabase);
  const aiDataSource = await open(aiDatabase);
  const gatewayDataSource = await open(gatewayDatabase, readiness);
  const modules = [
    WorkflowModule.forRoot({
      logger,
      readiness: quiet,
      dataSource: workflowDataSource,
      rpc: bus,
      tasks: bus,
      events: bus,
      publicUrl: config.WEFT_PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`,
      defaultConcurrentRuns: config.WEFT_TENANT_CONCURRENT_RUNS,
      // The in-process bus loses its messages with the process: put them back from the database.
      recoverLostWork: true,
    }),
    IntegrationModule.forRoot({
      logger,
      readiness: quiet,
      dataSource: integrationDataSource,
      rpc: bus,
      tasks: bus,
      events: bus,
      prefetch: 32,
      keyRing,
      egressAllow,
      breakers: breakerSettingsOf(config),
    }),
    AiModule.forRoot({
      logger,
      readiness: quiet,
      dataSource: aiDataSource,
      rpc: bus,
      tasks: bus,
      events: bus,
      prefetch: 8,
      keyRing,
      egressAllow,
      breakers: breakerSettingsOf(config),
    }),
  ];
  for (const module of modules) {
    const app = await createHttpApp(module, logger);
    await app.init();
    apps.push(app);
  }
  const gateway = await createHttpApp(
    GatewayModule.forRoot({
      logger,
      readiness,
      dataSource: gatewayDataSource,
      rpc: bus,
      events: bus,
      adminKey: adminKey.value,
      rpcTimeoutMs: 5_000,
      // One process: the tenants' rate windows are counted in it, without Redis.
      tenantLimits: tenantLimitDefaultsOf(config),
      platformRunsPerSecond: config.WEFT_PLATFORM_RUNS_PER_SECOND,
      requestLog: config.WEFT_REQUEST_LOG,
    }),
    logger,
  );
  await gateway.listen(config.PORT, config.HOST);
  await bus.start();

  process.stdout.write(
    `Weft is ready on http://${config.HOST}:${config.PORT} (standalone; data in ${dataDir}; ${describeAdminKey(adminKey)})\n`,
  );
  exitOnSignal(
    {
      close: async () => {
        await gateway.close();
        await bus.close();
        for (const app of apps) await app.close();
        for (const dataSource of dataSources) await dataSource.destroy();
        await postgres.stop();
        await telemetry.shutdown();
      },
    },
    logger,
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

const logger = JsonLogger.forService('standalone').captureProcessWarnings();
main(logger).catch(exitOnStartupFailure(logger));
