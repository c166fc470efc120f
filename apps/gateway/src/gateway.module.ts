import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { EVENT_LOG, RPC_TRANSPORT, type EventLog, type RpcClient } from '@weft/messaging';
import { HealthModule, JsonLogger, type ReadinessRegistry } from '@weft/runtime';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { ADMIN_KEY, AdminKeyGuard } from './admin/admin-key.guard';
import { ApiKeyService } from './api-keys/api-key.service';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApprovalsController } from './approvals/approvals.controller';
import { ConsoleAssets, DEFAULT_CONSOLE_DIR } from './console/console';
import { UsageController } from './usage/usage.controller';
import { CredentialsController } from './credentials/credentials.controller';
import { HookBodies } from './hooks/hook-bodies';
import { HooksController } from './hooks/hooks.controller';
import { BodyLimit } from './http/body-limit';
import { HttpServerLimits } from './http/http-server';
import { RequestLog } from './http/request-log';
import { JsonBodyCheck } from './http/json-body';
import {
  AdmissionInterceptor,
  DEFAULT_LOAD_SHEDDING,
  LoadShedding,
  type LoadSheddingOptions,
} from './http/load-shedding';
import { DEFAULT_LIMITS, type GatewayLimits } from './limits';
import { OpenApiController } from './openapi/openapi.controller';
import { ProblemFilter } from './problem/problem.filter';
import { ProbesController } from './probes/probes.controller';
import { TenantRpc } from './rpc/tenant-rpc';
import { DEFAULT_SSE_IDLE_MS, RunEventFanout } from './runs/events/run-event.fanout';
import { RunEventsService } from './runs/events/run-events.service';
import { RunReads, SqlRunReads } from './runs/run-reads';
import { RunsController } from './runs/runs.controller';
import { ApiKeyGuard } from './tenants/api-key.guard';
import { LastUsedRecorder } from './tenants/last-used.recorder';
import { TenantCache } from './tenants/tenant.cache';
import { TenantRepository } from './tenants/tenant.repository';
import { TenantService } from './tenants/tenant.service';
import { TenantsController } from './tenants/tenants.controller';
import { PlatformShare } from './tenants/platform-share';
import { TenantRateLimitGate, TenantRateLimits } from './tenants/rate-limits';
import type { TenantLimits } from './tenants/tenant-limits';
import {
  CONSOLE_DIR,
  GATEWAY_LIMITS,
  LAST_USED_FLUSH_MS,
  LOAD_SHEDDING,
  REQUEST_LOG,
  RPC_TIMEOUT_MS,
  SSE_HEARTBEAT_MS,
  SSE_IDLE_MS,
  TENANT_LIMIT_DEFAULTS,
} from './tokens';
import { WorkflowsController } from './workflows/workflows.controller';

/** What the gateway is built from; main.ts and the standalone launcher supply it. */
export interface GatewayDeps {
  logger: JsonLogger;
  readiness: ReadinessRegistry;
  /**
   * The gateway's own schema (`gatewayDatabase`), migrated: tenants and API keys. Runs are read
   * on it too, through the workflow service's published functions (ADR 0021).
   */
  dataSource: DataSource;
  /** A streaming read replica (`DATABASE_READ_URL`) for run lists; `dataSource` when unset. */
  readDataSource?: DataSource;
  /** Run reads other than from `dataSource` (tests). */
  runReads?: RunReads;
  rpc: RpcClient;
  /** Run events for the SSE streams; the caller calls `start()` once the app is initialised. */
  events: EventLog;
  adminKey: string;
  rpcTimeoutMs: number;
  /** Comment lines that keep idle event streams open through proxies; 15 s by default. */
  sseHeartbeatMs?: number;
  /** How long the gateway goes on fetching run events with no stream open (DEFAULT_SSE_IDLE_MS). */
  sseIdleMs?: number;
  /** Over-capacity limits (GATEWAY_MAX_IN_FLIGHT, …); DEFAULT_LOAD_SHEDDING where unset. */
  loadShedding?: Partial<LoadSheddingOptions>;
  /** Request timeout, connections per address, event streams per tenant; DEFAULT_LIMITS where unset. */
  limits?: Partial<GatewayLimits>;
  /** How often API keys' last-used times are written; 10 s by default. */
  lastUsedFlushMs?: number;
  /**
   * The web console's build served at `/`: apps/console/dist where unset; null serves none.
   */
  consoleDir?: string | null;
  /** Tenant limits where a tenant has none of its own (WEFT_TENANT_…). */
  tenantLimits: TenantLimits;
  /**
   * Where the tenants' rate windows are counted, shared by every replica; in process when
   * absent (standalone mode, one process).
   */
  rateLimitStore?: Redis;
  /** WEFT_PLATFORM_RUNS_PER_SECOND: run starts per second shared fairly by tenants; 0 or absent: none. */
  platformRunsPerSecond?: number;
  /** One log line per request (`WEFT_REQUEST_LOG`); on when unset. */
  requestLog?: boolean;
}

@Module({})
export class GatewayModule {
  static forRoot(deps: GatewayDeps): DynamicModule {
    return {
      module: GatewayModule,
      imports: [HealthModule.forRoot(deps.readiness)],
      controllers: [
        ApprovalsController,
        TenantsController,
        ApiKeysController,
        WorkflowsController,
        RunsController,
        HooksController,
        CredentialsController,
        UsageController,
        ProbesController,
        OpenApiController,
      ],
      providers: [
        { provide: JsonLogger, useValue: deps.logger },
        { provide: RPC_TRANSPORT, useValue: deps.rpc },
        { provide: EVENT_LOG, useValue: deps.events },
        { provide: ADMIN_KEY, useValue: deps.adminKey },
        { provide: RPC_TIMEOUT_MS, useValue: deps.rpcTimeoutMs },
        { provide: SSE_HEARTBEAT_MS, useValue: deps.sseHeartbeatMs ?? 15_000 },
        { provide: SSE_IDLE_MS, useValue: deps.sseIdleMs ?? DEFAULT_SSE_IDLE_MS },
        { provide: LOAD_SHEDDING, useValue: { ...DEFAULT_LOAD_SHEDDING, ...deps.loadShedding } },
        { provide: GATEWAY_LIMITS, useValue: { ...DEFAULT_LIMITS, ...deps.limits } },
        { provide: LAST_USED_FLUSH_MS, useValue: deps.lastUsedFlushMs ?? 10_000 },
        { provide: REQUEST_LOG, useValue: deps.requestLog ?? true },
        {
          provide: CONSOLE_DIR,
          useValue: deps.consoleDir === undefined ? DEFAULT_CONSOLE_DIR : deps.consoleDir,
        },
        { provide: TenantRepository, useValue: new TenantRepository(deps.dataSource) },
        {
          provide: RunReads,
          useValue: deps.runReads ?? new SqlRunReads(deps.dataSource, deps.readDataSource),
        },
        { provide: TenantCache, useValue: new TenantCache() },
        { provide: TENANT_LIMIT_DEFAULTS, useValue: deps.tenantLimits },
        {
          provide: TenantRateLimits,
          useValue: new TenantRateLimits(
            deps.rateLimitStore,
            deps.platformRunsPerSecond
              ? new PlatformShare(deps.platformRunsPerSecond, deps.rateLimitStore)
              : undefined,
          ),
        },
        TenantRateLimitGate,
        { provide: APP_FILTER, useClass: ProblemFilter },
        // After the guards: a request takes its slot in flight once its key is checked.
        { provide: APP_INTERCEPTOR, useClass: AdmissionInterceptor },
        // First of the hooks, so that a shed request costs no other work.
        LoadShedding,
        RequestLog,
        HttpServerLimits,
        ConsoleAssets,
        BodyLimit,
        JsonBodyCheck,
        HookBodies,
        AdminKeyGuard,
        ApiKeyGuard,
        TenantService,
        LastUsedRecorder,
        ApiKeyService,
        TenantRpc,
        RunEventFanout,
        RunEventsService,
      ],
    };
  }
}
