import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { AiRpc, TaskQueues } from '@weft/contracts';
import { EgressGuard, sharedConnectionPools, type EgressAllowList } from '@weft/egress';
import type { EventLog, RpcTransport, TaskQueue } from '@weft/messaging';
import { HealthModule, JsonLogger, type ReadinessRegistry } from '@weft/runtime';
import type { KeyRing } from '@weft/secrets';
import { ProviderBreakers, startStepWorker, type BreakerSettings } from '@weft/worker';
import type { DataSource } from 'typeorm';
import { aiConnectors } from './connectors/connectors';
import { vaultCredentialSource } from './credentials/vault-credential.source';
import { aiRpcHandlers } from './usage/ai.rpc';
import { TokenLedgerRepository } from './usage/token-ledger';

/** What the ai service is built from; main.ts and the standalone launcher supply it. */
export interface AiDeps {
  logger: JsonLogger;
  readiness: ReadinessRegistry;
  tasks: TaskQueue;
  events: EventLog;
  prefetch: number;
  /** How often a running attempt renews its lease; the worker's default when unset. */
  heartbeatMs?: number;
  /** The `ai` schema, migrated. */
  dataSource: DataSource;
  /** Reaches the integration service's credential vault. */
  rpc: RpcTransport;
  /** Opens the credentials the vault answers sealed (`WEFT_SECRET_KEY`). */
  keyRing: KeyRing;
  /** How long one provider of an `ai.chat` chain may take; 60 s when unset. */
  providerTimeoutMs?: number;
  /** `WEFT_EGRESS_ALLOW`, parsed: what providers may be reached at despite the SSRF guard. */
  egressAllow: EgressAllowList;
  /** The providers' circuit breakers; the defaults when unset. */
  breakers?: BreakerSettings;
}

const DEPS = Symbol('AiDeps');

@Module({})
export class AiModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(DEPS) private readonly deps: AiDeps) {}

  static forRoot(deps: AiDeps): DynamicModule {
    return {
      module: AiModule,
      imports: [HealthModule.forRoot(deps.readiness)],
      providers: [
        { provide: DEPS, useValue: deps },
        { provide: JsonLogger, useValue: deps.logger },
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { logger, rpc, keyRing, providerTimeoutMs, egressAllow } = this.deps;
    const ledger = new TokenLedgerRepository(this.deps.dataSource);
    await rpc.serve(AiRpc, aiRpcHandlers(ledger));
    await startStepWorker({
      worker: 'ai',
      channel: TaskQueues.ai,
      connectors: aiConnectors({ ledger, logger, providerTimeoutMs }),
      services: {
        egress: new EgressGuard(egressAllow),
        credentials: vaultCredentialSource(rpc, keyRing),
        breakers: new ProviderBreakers('ai', this.deps.breakers),
      },
      prefetch: this.deps.prefetch,
      heartbeatMs: this.deps.heartbeatMs,
      tasks: this.deps.tasks,
      events: this.deps.events,
      logger,
    });
  }

  /** Closes the providers' kept-alive connections; the worker has stopped taking tasks by now. */
  onApplicationShutdown(): void {
    sharedConnectionPools.close();
  }
}
