import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { IntegrationRpc, TaskQueues } from '@weft/contracts';
import { EgressGuard, type EgressAllowList } from '@weft/egress';
import {
  answerOutagesAsUnavailable,
  type EventLog,
  type RpcTransport,
  type TaskQueue,
} from '@weft/messaging';
import { isDatabaseUnavailable } from '@weft/persistence';
import { HealthModule, JsonLogger, type ReadinessRegistry } from '@weft/runtime';
import type { KeyRing } from '@weft/secrets';
import { ProviderBreakers, startStepWorker, type BreakerSettings } from '@weft/worker';
import type { DataSource } from 'typeorm';
import { CredentialRepository } from './credentials/credential.repository';
import { credentialRpcHandlers } from './credentials/credential.rpc';
import { vaultCredentialSource } from './credentials/credential.source';
import { CredentialService } from './credentials/credential.service';
import { EventTriggerConsumers } from './triggers/event-triggers';
import { integrationConnectors } from './connectors/connectors';

/** What the integration service is built from; main.ts and the standalone launcher supply it. */
export interface IntegrationDeps {
  logger: JsonLogger;
  readiness: ReadinessRegistry;
  /** Opened on `integrationDatabase`, migrations applied. */
  dataSource: DataSource;
  /** Serves the credential vault (`IntegrationRpc`). */
  rpc: RpcTransport;
  tasks: TaskQueue;
  events: EventLog;
  prefetch: number;
  /** How often a running attempt renews its lease; the worker's default when unset. */
  heartbeatMs?: number;
  /** `WEFT_SECRET_KEY`, parsed. */
  keyRing: KeyRing;
  /** `WEFT_EGRESS_ALLOW`, parsed. */
  egressAllow: EgressAllowList;
  /** The providers' circuit breakers; the defaults when unset. */
  breakers?: BreakerSettings;
}

const DEPS = Symbol('IntegrationDeps');

@Module({})
export class IntegrationModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private eventTriggers?: EventTriggerConsumers;
  private readonly connectors = integrationConnectors();

  constructor(
    @Inject(DEPS) private readonly deps: IntegrationDeps,
    private readonly credentials: CredentialService,
  ) {}

  static forRoot(deps: IntegrationDeps): DynamicModule {
    const credentials = new CredentialService(
      new CredentialRepository(deps.dataSource),
      deps.keyRing,
      deps.logger,
    );
    return {
      module: IntegrationModule,
      imports: [HealthModule.forRoot(deps.readiness)],
      providers: [
        { provide: DEPS, useValue: deps },
        { provide: JsonLogger, useValue: deps.logger },
        { provide: CredentialService, useValue: credentials },
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { deps, credentials } = this;
    await deps.rpc.serve(
      IntegrationRpc,
      answerOutagesAsUnavailable(credentialRpcHandlers(credentials), isDatabaseUnavailable),
    );
    const egress = new EgressGuard(deps.egressAllow);
    this.eventTriggers = new EventTriggerConsumers({
      rpc: deps.rpc,
      openCredential: async (tenantId, name) => (await credentials.unseal(tenantId, [name]))[0]!,
      egress,
      logger: deps.logger,
    });
    this.eventTriggers.start();
    await startStepWorker({
      worker: 'integration',
      channel: TaskQueues.integration,
      connectors: this.connectors.connectors,
      services: {
        egress,
        credentials: vaultCredentialSource(credentials),
        breakers: new ProviderBreakers('integration', deps.breakers),
      },
      prefetch: deps.prefetch,
      heartbeatMs: deps.heartbeatMs,
      tasks: deps.tasks,
      events: deps.events,
      logger: deps.logger,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.eventTriggers?.stop();
    await this.connectors.close();
  }
}
