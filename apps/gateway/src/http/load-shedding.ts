import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { counter, JsonLogger, METRICS } from '@weft/runtime';
import { requestTracing } from '@weft/runtime/telemetry';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { overloaded, type ProblemError } from '../problem/problem';
import { LOAD_SHEDDING } from '../tokens';

export interface LoadSheddingOptions {
  /**
   * Requests admitted (body received, key checked) and not answered yet, with those arrived
   * whole and being checked; the next one is answered 503 (GATEWAY_MAX_IN_FLIGHT).
   */
  maxInFlight: number;
  /**
   * Requests whose body is still arriving, or has arrived and whose key is not checked yet
   * (GATEWAY_MAX_PENDING). Over it, a new request whose body has not arrived with its headers
   * is answered 503 and its connection closed; slow clients wait here, not in `maxInFlight`.
   */
  maxPending: number;
  /**
   * Event-loop delay over the last sample (each turn weighted by its length, see `sample`)
   * beyond which requests are answered 503 (GATEWAY_MAX_EVENT_LOOP_DELAY_MS); 0 turns this
   * check off.
   */
  maxEventLoopDelayMs: number;
  /** How often the delay is read; a reading holds until the next. */
  sampleIntervalMs: number;
  /**
   * Longest a request that ignored Retry-After waits for its 503 (see `answerShed`) or its
   * 429 (`holdRateLimited`; GATEWAY_MAX_SHED_ANSWER_DELAY_MS); 0 answers every one at once.
   */
  maxShedAnswerDelayMs: number;
}

export const DEFAULT_LOAD_SHEDDING: LoadSheddingOptions = {
  // Little's law: 256 requests each waiting ~50 ms on the engine is ~5,000 requests a second
  // per replica; more in flight only queues in the engine, toward RPC_TIMEOUT_MS.
  maxInFlight: 256,
  // Half the in-flight bound: a client sending its body keeps little but a buffer and a socket.
  maxPending: 128,
  maxEventLoopDelayMs: 200,
  sampleIntervalMs: 500,
  maxShedAnswerDelayMs: 8_000,
};

/** Whole seconds, as Retry-After wants: long enough for a queue to drain, short for a client. */
const RETRY_AFTER_SECONDS = 1;
const RETRY_AFTER_MS = RETRY_AFTER_SECONDS * 1_000;
/** The delay histogram's timer; every reading includes it, so it is taken off the mean. */
const RESOLUTION_MS = 10;

/**
 * Probes are never shed. An overloaded gateway is alive and still ready: failing /health
 * would get it restarted, failing /ready would take it out of the load balancer, and either
 * would move its load onto the other replicas and cascade. Metrics are most wanted then.
 */
const NEVER_SHED = new Set(['/health', '/ready', '/metrics']);
/**
 * Event streams are checked on admission but hold no slot while open: a stream waits for
 * events rather than doing work, and a few hundred watchers holding slots for minutes
 * would otherwise shed the whole API. Each tenant's streams are capped instead
 * (runs/events/run-events.service.ts).
 */
const LONG_LIVED = new Set(['/v1/runs/:id/events', '/v1/events']);

/** Why a request was shed: the `reason` label of `weft_http_shed_total`. */
type ShedReason = 'in_flight' | 'event_loop' | 'pending';

const shedRequests = counter(METRICS.httpShed);

interface Rejection {
  reason: ShedReason;
  error: ProblemError;
  headers: Record<string, string>;
  body: string;
}

function rejection(
  reason: ShedReason,
  detail: string,
  extraHeaders: Record<string, string> = {},
): Rejection {
  const error = overloaded(detail, RETRY_AFTER_SECONDS);
  return {
    reason,
    error,
    headers: { ...error.headers, ...extraHeaders, 'content-type': 'application/problem+json' },
    body: JSON.stringify(error.problem),
  };
}

const TOO_MANY_IN_FLIGHT = rejection(
  'in_flight',
  'The gateway is at its limit of requests in flight.',
);
const EVENT_LOOP_LAGGING = rejection('event_loop', 'The gateway is too busy to answer in time.');
// Closed: the rest of the body is not worth reading, and a slow client's socket is the cost.
const TOO_MANY_PENDING = rejection(
  'pending',
  'The gateway is at its limit of requests still being received.',
  { connection: 'close' },
);

/**
 * What one request holds, from its headers until its response closes: `pending` while its body
 * arrives, `checking` when it arrived whole and its key and rate are being checked, `inFlight`
 * once admitted.
 */
type Slot = 'pending' | 'checking' | 'inFlight';
interface Held {
  slot: Slot | undefined;
  /** The response has closed (sent, or the client left): nothing may be taken any more. */
  closed: boolean;
}

/** A body to wait for: a length over 0, or chunks. */
const hasBody = (request: IncomingMessage): boolean =>
  request.headers['transfer-encoding'] !== undefined ||
  Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Load shedding: over capacity the gateway answers 503 with Retry-After instead of queueing
 * requests until clients time out and connections are dropped (SPEC §3). Its checks run
 * as the first onRequest hook, before the body is read, the key checked or the engine
 * called, so a rejection costs almost nothing. Three bounds:
 *
 * - requests in flight: each one waits on the engine or the database; past the bound, more
 *   concurrency only lengthens every queue and the memory held for it. A slot is taken on
 *   admission (`admit`, by AdmissionInterceptor, after the body is parsed and the route's
 *   guards passed), so clients that are slow to send or have no valid key never hold one.
 *   Requests that arrived whole and are still being checked (key, tenant rate) count toward
 *   the bound on arrival: a burst of thousands of new connections comes in one turn of the
 *   loop, before any of them is admitted, and each one let through then costs a key check
 *   and a Redis round trip only to be refused at admission (docs/performance.md, "A burst
 *   refused at the door").
 * - requests pending: those whose body is still arriving, until admitted or answered. A
 *   request whose body came with its headers (or that has none) never waits for a place
 *   here, so slow clients filling it cannot keep the others out.
 * - event-loop delay (perf_hooks.monitorEventLoopDelay): when the loop lags, every answer is
 *   late whatever the in-flight count, e.g. when parsing thousands of requests at once.
 */
@Injectable()
export class LoadShedding implements OnApplicationBootstrap, OnModuleDestroy {
  private inFlight = 0;
  private pending = 0;
  private checking = 0;
  /** Delay over the last sample, ms (see `sample`); it holds until the next sample. */
  private eventLoopDelayMs = 0;
  private recorded = { count: 0, sumNs: 0, squaresNs2: 0 };
  private shedSinceSample = 0;
  /** Requests shed since shedding started; 0 while not shedding. */
  private shedInEpisode = 0;
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private sampler?: NodeJS.Timeout;
  /** Per connection: the delay of its last 503, and when that 503's Retry-After ends. */
  private readonly pacing = new WeakMap<Socket, { delayMs: number; retryAfter: number }>();
  /** Per connection: the tenant of its last 429, and when that 429's Retry-After ends. */
  private readonly ratePacing = new WeakMap<Socket, { tenantId: string; retryAfter: number }>();
  /** Per response: the slot its request holds; freed exactly once, when it closes. */
  private readonly held = new WeakMap<ServerResponse, Held>();

  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(LOAD_SHEDDING) private readonly options: LoadSheddingOptions,
    private readonly logger: JsonLogger,
  ) {
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      const route = request.routeOptions.url;
      if (route !== undefined && NEVER_SHED.has(route)) return done();
      const rejected = this.rejection();
      requestTracing.paused = rejected !== undefined;
      if (rejected) {
        this.shedSinceSample++;
        shedRequests.inc({ reason: rejected.reason });
        this.answerShed(request, reply, rejected);
        return; // not calling done(): the request ends here, before any other work
      }
      const held = this.track(reply.raw);
      if (!hasBody(request.raw)) {
        this.take(held, 'checking');
        return done();
      }
      if (this.pending < this.options.maxPending) {
        this.take(held, 'pending');
        return done();
      }
      // Full. The parser reads the rest of this packet after this hook: a body that came
      // with the headers is complete by the next turn of the loop and is let through.
      setImmediate(() => {
        if (held.closed) return;
        if (request.raw.complete) {
          this.take(held, 'checking');
          return done();
        }
        this.shedSinceSample++;
        shedRequests.inc({ reason: TOO_MANY_PENDING.reason });
        void reply.code(503).headers(TOO_MANY_PENDING.headers).send(TOO_MANY_PENDING.body);
      });
    });
  }

  /**
   * Admits a request whose body has arrived and whose route's guards passed: it takes a
   * slot in flight (an event stream only checks there is one), and leaves the pending ones.
   * Answers the error to answer it instead, after the pacing delay, when there is no slot.
   */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<ProblemError | undefined> {
    const route = request.routeOptions.url;
    if (route !== undefined && NEVER_SHED.has(route)) return undefined;
    const held = this.track(reply.raw);
    if (held.closed) return undefined; // the client left; there is nothing to hold
    if (this.inFlight >= this.options.maxInFlight) {
      this.free(held);
      this.shedSinceSample++;
      shedRequests.inc({ reason: TOO_MANY_IN_FLIGHT.reason });
      const delayMs = this.paceDelay(request.raw.socket);
      if (delayMs > 0) await sleep(delayMs);
      return TOO_MANY_IN_FLIGHT.error;
    }
    if (route !== undefined && LONG_LIVED.has(route)) this.free(held);
    else this.take(held, 'inFlight');
    return undefined;
  }

  /** The request's record, made on first sight; it frees the slot when the response closes. */
  private track(response: ServerResponse): Held {
    let held = this.held.get(response);
    if (held) return held;
    held = { slot: undefined, closed: response.destroyed || response.writableFinished };
    this.held.set(response, held);
    if (!held.closed) {
      // 'close' comes after the answer is sent or when the client goes away first;
      // 'finish' (and onResponse) would miss the latter and leak the slot.
      response.once('close', () => {
        held.closed = true;
        this.free(held);
      });
    }
    return held;
  }

  private take(held: Held, slot: Slot): void {
    if (held.closed) return;
    this.free(held);
    held.slot = slot;
    this[slot]++;
  }

  private free(held: Held): void {
    if (held.slot !== undefined) this[held.slot]--;
    held.slot = undefined;
  }

  /**
   * Answers a shed request 503 on its connection, which stays open: a reconnect would only
   * add to the overload. A connection's first 503 is answered at once; a request that comes
   * back on it before that 503's Retry-After has passed waits for its answer, 1 s the first
   * time, twice as long each time after, up to `maxShedAnswerDelayMs`. A client that honours
   * Retry-After never waits. Clients that ask again at once are the reason: answered at
   * once, N of them keep every socket readable, the loop spends itself on their 503s, and
   * new connections are not accepted (libuv accepts one per turn of the loop) until their
   * clients give up — docs/reliability.md § Overload has the figures. Held, each of them
   * sends one request per maxShedAnswerDelayMs at most, and a held request costs a timer.
   */
  private answerShed(request: FastifyRequest, reply: FastifyReply, rejected: Rejection): void {
    const delayMs = this.paceDelay(request.raw.socket);
    const send = () => {
      if (reply.raw.destroyed) return; // the client left meanwhile
      void reply.code(503).headers(rejected.headers).send(rejected.body);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  }

  /**
   * Holds a tenant's `429` (tenants/rate-limits.ts) about to be answered on a connection whose
   * client asked again before the tenant's last 429 there had its Retry-After pass: until the
   * window ends, `windowLeftMs` from now (at most `maxShedAnswerDelayMs`). Answers how long it
   * held. The request gives up its slot while it waits. Unlike a `503`'s, the hold does not
   * grow: the tenant is over its rate for this window only, and its client, answered when
   * the window ends, gets its next requests into the next one, so it keeps the rate it is
   * allowed while the gateway answers about one refusal per connection per window instead of
   * as many as the client can send — which cost the other tenants CPU (docs/performance.md,
   * "Refusals a flooding client waits for").
   */
  async holdRateLimited(
    request: FastifyRequest,
    reply: FastifyReply,
    tenantId: string,
    windowLeftMs: number,
  ): Promise<number> {
    const socket = request.raw.socket;
    const now = performance.now();
    const previous = this.ratePacing.get(socket);
    // The same tenant's: a proxy's pooled connection carries the requests of many tenants.
    const early = previous?.tenantId === tenantId && now < previous.retryAfter;
    const delayMs = early ? Math.min(this.options.maxShedAnswerDelayMs, windowLeftMs) : 0;
    // The answer's Retry-After is whole seconds, at least 1, counted from when it is sent.
    this.ratePacing.set(socket, {
      tenantId,
      retryAfter: now + Math.max(windowLeftMs, delayMs + RETRY_AFTER_MS),
    });
    if (delayMs <= 0) return 0;
    this.free(this.track(reply.raw));
    await sleep(delayMs);
    return delayMs;
  }

  /** How long to hold the 503 about to be answered on `socket`; see `answerShed`. */
  private paceDelay(socket: Socket): number {
    const now = performance.now();
    const previous = this.pacing.get(socket);
    // A request is read a turn of the loop after it arrived: while turns take a second, a
    // client that asked again at once would otherwise look as if it had waited, and be
    // answered at once each time (docs/performance.md, "A burst refused at the door").
    const early = previous !== undefined && now < previous.retryAfter + this.eventLoopDelayMs;
    const delayMs = early
      ? Math.min(this.options.maxShedAnswerDelayMs, Math.max(RETRY_AFTER_MS, 2 * previous.delayMs))
      : 0;
    this.pacing.set(socket, { delayMs, retryAfter: now + delayMs + RETRY_AFTER_MS });
    return delayMs;
  }

  /** Sampling starts once the app is built, so start-up work does not read as pressure. */
  onApplicationBootstrap(): void {
    this.histogram.enable();
    this.sampler = setInterval(() => this.sample(), this.options.sampleIntervalMs);
    this.sampler.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sampler);
    this.histogram.disable();
  }

  /** Requests admitted and not answered yet (for tests and diagnostics). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Requests whose body is arriving or whose key is being checked (for tests and diagnostics). */
  get requestsPending(): number {
    return this.pending;
  }

  private rejection(): Rejection | undefined {
    if (this.inFlight + this.checking >= this.options.maxInFlight) return TOO_MANY_IN_FLIGHT;
    if (
      this.options.maxEventLoopDelayMs > 0 &&
      this.eventLoopDelayMs > this.options.maxEventLoopDelayMs
    )
      return EVENT_LOOP_LAGGING;
    return undefined;
  }

  private sample(): void {
    // The histogram records each interval of its timer (ns). It is never reset: reset()
    // forgets the interval in progress, and under heavy load, with turns of the loop longer
    // than the sample interval, that is every interval, which would read as no delay exactly
    // when the delay is worst. The window's sums come from the running totals instead
    // (count × mean is the sum of the intervals, count × (stddev² + mean²) the sum of their
    // squares; exact to well under a millisecond for the first 100 days of uptime).
    //
    // Each interval is weighted by its length, the chance that a request arrives during it:
    // a turn of one second among a hundred of 10 ms keeps a request that comes then waiting
    // the second, which a plain mean (19 ms) hides and which is how a burst of connections
    // looks (docs/performance.md, "A burst refused at the door"). For turns of one length the
    // two are the same.
    const count = this.histogram.count;
    const { mean, stddev } = this.histogram;
    const sumNs = count > 0 ? mean * count : 0;
    const squaresNs2 = count > 0 ? (stddev * stddev + mean * mean) * count : 0;
    const windowNs = sumNs - this.recorded.sumNs;
    if (count > this.recorded.count && windowNs > 0) {
      const weightedMs = (squaresNs2 - this.recorded.squaresNs2) / windowNs / 1e6;
      this.eventLoopDelayMs = Math.max(0, weightedMs - RESOLUTION_MS);
    }
    this.recorded = { count, sumNs, squaresNs2 };
    // One line when shedding starts and one when it stops, not one per rejection.
    const shed = this.shedSinceSample;
    this.shedSinceSample = 0;
    if (shed > 0 && this.shedInEpisode === 0) {
      this.logger.event('warn', 'shedding load', {
        inFlight: this.inFlight,
        pending: this.pending,
        eventLoopDelayMs: Math.round(this.eventLoopDelayMs),
      });
    } else if (shed === 0 && this.shedInEpisode > 0) {
      this.logger.event('info', 'load shedding stopped', { shed: this.shedInEpisode });
    }
    this.shedInEpisode = shed === 0 ? 0 : this.shedInEpisode + shed;
  }
}

/**
 * Takes each request's slot in flight once the route's guards have passed (Nest runs
 * interceptors after guards, and Fastify parses the body before either): over the bound, the
 * request is answered 503 like one shed on arrival.
 */
@Injectable()
export class AdmissionInterceptor implements NestInterceptor {
  constructor(private readonly shedding: LoadShedding) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const refused = await this.shedding.admit(
      http.getRequest<FastifyRequest>(),
      http.getResponse<FastifyReply>(),
    );
    if (refused) throw refused;
    return next.handle();
  }
}
