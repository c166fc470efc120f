import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { counter, METRICS } from '@weft/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { LoadShedding } from '../http/load-shedding';
import { PlatformShare } from './platform-share';
import { problemFor, ProblemError } from '../problem/problem';
import { TENANT_LIMIT_DEFAULTS } from '../tokens';
import { effectiveLimits, type TenantLimitOverrides, type TenantLimits } from './tenant-limits';
import { TenantService } from './tenant.service';

declare module 'fastify' {
  interface FastifyRequest {
    /** The limits of the request's tenant, once one of them was checked. */
    tenantLimits?: TenantLimits;
    /** Each limit the request was counted against, for its RateLimit headers. */
    rateDecisions?: RateDecision[];
  }
}

/** What a tenant's request is counted against: every request, or the run starts among them. */
export type RateKind = 'requests' | 'runs';

const LIMIT_OF: Record<RateKind, 'requestsPerSecond' | 'runsPerSecond'> = {
  requests: 'requestsPerSecond',
  runs: 'runsPerSecond',
};

/** One request's standing against one of its tenant's limits. */
export interface RateDecision {
  kind: RateKind;
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the current one-second window ends. */
  resetMs: number;
  /**
   * Refused, or limited, by the tenant's fair share of the platform's run starts per second
   * rather than by its own limit: `limit` is then that share.
   */
  fairShare?: boolean;
}

const WINDOW_SECONDS = 1;

const limited = counter(METRICS.rateLimited);

/**
 * Fixed one-second windows per tenant and limit (rate-limiter-flexible). With Redis every
 * gateway replica counts against the same window; a Redis that is down or slow (an ioredis
 * command timeout) falls back to a window in this process — a per-replica limit rather than
 * no answer or a 500. Without Redis (standalone mode) the window is in process.
 *
 * A tenant that used up its window is refused in process until the window ends, without asking
 * Redis again: a client flooding past its limit would otherwise cost a Redis round trip per
 * refusal (docs/performance.md, "Refusals a flooding client waits for").
 *
 * With a platform budget for run starts (`WEFT_PLATFORM_RUNS_PER_SECOND`), a start within its
 * tenant's own limit must also be within the tenant's fair share of that budget (PlatformShare,
 * ADR 0024): a flooding tenant gets what the others leave, so the platform is not run past what
 * it can serve with the quiet tenants' runs behind the flood.
 */
export class TenantRateLimits {
  /** By kind and limit: a tenant whose limit changes starts a new window. */
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  /** `share`: the platform's run starts per second, shared fairly; none without a budget. */
  constructor(
    private readonly redis?: Redis,
    private readonly share?: PlatformShare,
  ) {}

  async consume(kind: RateKind, tenantId: string, limits: TenantLimits): Promise<RateDecision> {
    const limit = limits[LIMIT_OF[kind]];
    let own: RateDecision;
    try {
      const result = await this.limiterFor(kind, limit).consume(tenantId);
      own = decision(kind, true, limit, result);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      limited.inc({ kind });
      return decision(kind, false, limit, rejection);
    }
    return kind === 'runs' && this.share ? this.shared(this.share, tenantId, own) : own;
  }

  /**
   * A start within the tenant's own limit, checked against its fair share of the platform's
   * budget (PlatformShare) when that is smaller. The starts counted are those of the tenant's own
   * window; a start refused here still took its point there, so a client that keeps sending is
   * soon refused from memory (inMemoryBlockOnConsumed) at no cost.
   *
   * A start admitted within a share is paced: the n-th of the window is answered no sooner than
   * (n − 1) / share of the window into it (rate-limiter-flexible's execEvenly, for this limit
   * only). A flooding client's refused requests all come back when the window ends; admitted at
   * once, its share of starts arrived in one burst, more than its `concurrentRuns` at a time, and
   * the rest queued behind its limit — the engine's costlier path, slower still under load.
   */
  private async shared(share: PlatformShare, tenantId: string, own: RateDecision) {
    const { allowance, resetMs } = await share.allowance(tenantId);
    if (allowance >= own.limit) {
      share.record(tenantId);
      return own;
    }
    const started = own.limit - own.remaining;
    const limit = Math.floor(allowance);
    if (started > allowance) {
      share.refuse(tenantId);
      limited.inc({ kind: 'fair_share' });
      return { kind: own.kind, allowed: false, limit, remaining: 0, resetMs, fairShare: true };
    }
    share.record(tenantId);
    const elapsedMs = WINDOW_SECONDS * 1000 - own.resetMs;
    const paceMs = ((started - 1) * WINDOW_SECONDS * 1000) / allowance - elapsedMs;
    if (paceMs > 0) await sleep(Math.min(paceMs, own.resetMs));
    const remaining = Math.max(0, limit - started);
    return { ...own, limit, remaining, resetMs: Math.min(own.resetMs, resetMs), fairShare: true };
  }

  private limiterFor(kind: RateKind, points: number): RateLimiterAbstract {
    const name = `${kind}:${points}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      const options = { points, duration: WINDOW_SECONDS, keyPrefix: `weft:rate:${name}` };
      const inProcess = new RateLimiterMemory(options);
      limiter = this.redis
        ? new RateLimiterRedis({
            ...options,
            storeClient: this.redis,
            // Not connected: count here at once instead of queueing behind the reconnection.
            rejectIfRedisNotReady: true,
            insuranceLimiter: inProcess,
            // The request that takes the last point blocks the key here for the rest of the window.
            inMemoryBlockOnConsumed: points,
          })
        : inProcess;
      this.limiters.set(name, limiter);
    }
    return limiter;
  }
}

/**
 * Counts requests against their tenant's limits: ApiKeyGuard each request with a key, the
 * webhook route each delivery, and the routes that start runs each start.
 */
@Injectable()
export class TenantRateLimitGate {
  constructor(
    @Inject(TENANT_LIMIT_DEFAULTS) private readonly defaults: TenantLimits,
    private readonly windows: TenantRateLimits,
    private readonly tenants: TenantService,
    private readonly shedding: LoadShedding,
  ) {}

  /**
   * Counts one request of `tenantId` against its `kind` limit and sets the RateLimit headers;
   * throws the 429 when over it (held when its client ignores Retry-After: see
   * LoadShedding.holdRateLimited). `overrides`: the tenant's own limits when the caller has
   * them already (read with its API key); otherwise they are looked up (cached).
   */
  async admit(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: RateKind,
    tenantId: string,
    overrides?: TenantLimitOverrides,
  ): Promise<void> {
    request.tenantLimits ??= effectiveLimits(
      this.defaults,
      overrides ?? (await this.tenants.limitsOf(tenantId)),
    );
    const decision = await this.windows.consume(kind, tenantId, request.tenantLimits);
    if (!decision.allowed) {
      // A client that did not wait for its last 429's Retry-After gets this one when the
      // window ends.
      const heldMs = await this.shedding.holdRateLimited(
        request,
        reply,
        tenantId,
        decision.resetMs,
      );
      decision.resetMs = Math.max(0, decision.resetMs - heldMs);
    }
    (request.rateDecisions ??= []).push(decision);
    setRateLimitHeaders(reply, request.rateDecisions);
    if (!decision.allowed) throw rateLimited(decision);
  }
}

const decision = (
  kind: RateKind,
  allowed: boolean,
  limit: number,
  result: RateLimiterRes,
): RateDecision => ({
  kind,
  allowed,
  limit,
  remaining: Math.max(0, result.remainingPoints),
  resetMs: Math.max(0, result.msBeforeNext),
});

/**
 * RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers): one item per limit the
 * request was counted against, its quota per window and what is left of the current window.
 */
export function setRateLimitHeaders(reply: FastifyReply, decisions: readonly RateDecision[]): void {
  if (decisions.length === 0) return;
  void reply.header(
    'ratelimit-policy',
    decisions.map((d) => `"${d.kind}";q=${d.limit};w=${WINDOW_SECONDS}`).join(', '),
  );
  void reply.header(
    'ratelimit',
    decisions.map((d) => `"${d.kind}";r=${d.remaining};t=${secondsOf(d.resetMs)}`).join(', '),
  );
}

/** 429 for a request over a limit: Retry-After is when its window ends. */
export function rateLimited(decision: RateDecision): ProblemError {
  const what = decision.kind === 'runs' ? 'run starts' : 'requests';
  const { problem, headers } = problemFor(
    'rate_limited',
    decision.fairShare
      ? `the platform is at its budget of run starts, and the tenant is over its fair share of it (${decision.limit} per second now); retry after Retry-After seconds`
      : `the tenant is over its limit of ${decision.limit} ${what} per second; retry after Retry-After seconds`,
  );
  return new ProblemError(problem, {
    ...headers,
    'retry-after': String(secondsOf(decision.resetMs)),
  });
}

/** Whole seconds, rounded up and at least 1: a client that waits that long finds a new window. */
const secondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
