import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { quote, timeExceeded, type EvaluationLimits } from './expression-budget';
import {
  deserializeExpressionError,
  ExpressionError,
  type SerializedExpressionError,
} from './expression-error';
import type { ExpressionContext } from './expressions';

/** What the calling thread sends a worker: one template to compile and evaluate. */
export type WorkerRequest = {
  raw: unknown;
  context: ExpressionContext;
  limits: EvaluationLimits;
};

/** What a worker sends back: that it is ready for requests, or the outcome of one. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'result'; value: unknown }
  | { kind: 'expression-error'; error: SerializedExpressionError }
  | { kind: 'crash'; message: string };

/** Few workers: they only run templates with function calls, which are rare and short. */
const POOL_SIZE = 2;
/** Evaluations waiting for a worker; past this many, new ones fail rather than pile up. */
const QUEUE_LIMIT = 100;
/** Time a worker gets past its budget to report the overrun itself before it is stopped. */
const GRACE_MS = 50;
/** An evaluation builds results of about 1 MiB at most; this leaves room, not a weapon. */
const RESOURCE_LIMITS = {
  maxOldGenerationSizeMb: 64,
  maxYoungGenerationSizeMb: 16,
  stackSizeMb: 4,
};

type Job = WorkerRequest & {
  source: string;
  queuedAt: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
};

type Slot = {
  worker: Worker;
  /** When the worker finished starting; undefined while it starts. */
  readyAt: number | undefined;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
};

const slots = new Set<Slot>();
const queue: Job[] = [];

/**
 * Evaluates a template in a worker thread, which is terminated (and replaced) when it overruns
 * the time budget: unlike the calling thread, it can be stopped inside one long built-in call.
 * `source` names the expression in errors raised here (a timeout, the memory limit).
 */
export function evaluateInWorker(
  raw: unknown,
  context: ExpressionContext,
  limits: EvaluationLimits,
  source: string,
): Promise<unknown> {
  if (queue.length >= QUEUE_LIMIT) return Promise.reject(timeExceeded(limits, source));
  return new Promise((resolve, reject) => {
    queue.push({ raw, context, limits, source, queuedAt: Date.now(), resolve, reject });
    dispatch();
  });
}

/** Hands queued jobs to idle workers, and starts a worker when the pool has room. */
function dispatch(): void {
  for (const slot of slots) {
    while (slot.readyAt !== undefined && slot.job === undefined && queue.length > 0) {
      start(slot, queue.shift()!);
    }
  }
  const starting = [...slots].filter((slot) => slot.readyAt === undefined).length;
  if (queue.length > starting && slots.size < POOL_SIZE) spawn();
  for (const slot of slots) holdProcess(slot);
}

/**
 * A worker keeps the process alive only while someone waits for it (its job, or the queue
 * while it starts): idle workers must never keep a process from exiting.
 */
function holdProcess(slot: Slot): void {
  if (slot.job !== undefined || (slot.readyAt === undefined && queue.length > 0)) slot.worker.ref();
  else slot.worker.unref();
}

function start(slot: Slot, job: Job): void {
  // Waiting for a busy worker counts against the budget; waiting for one to start does not,
  // or the first evaluation after a start-up would pay for it.
  const waited = Date.now() - Math.max(job.queuedAt, slot.readyAt ?? job.queuedAt);
  const timeMs = job.limits.timeMs - waited;
  if (timeMs <= 0) {
    job.reject(timeExceeded(job.limits, job.source));
    return;
  }
  slot.job = job;
  slot.timer = setTimeout(
    () => retire(slot, timeExceeded(job.limits, job.source)),
    timeMs + GRACE_MS,
  );
  const request: WorkerRequest = {
    raw: job.raw,
    context: job.context,
    limits: { ...job.limits, timeMs },
  };
  slot.worker.postMessage(request);
}

function spawn(): void {
  const { file, execArgv } = workerEntry();
  const worker = new Worker(file, { execArgv, resourceLimits: RESOURCE_LIMITS });
  const slot: Slot = { worker, readyAt: undefined, job: undefined, timer: undefined };
  slots.add(slot);
  worker.on('message', (reply: WorkerReply) => onReply(slot, reply));
  worker.on('error', (error: Error & { code?: string }) =>
    retire(slot, error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? outOfMemory(slot) : error),
  );
  worker.on('exit', (code) =>
    retire(slot, new Error(`expression worker exited with code ${code}`)),
  );
}

function onReply(slot: Slot, reply: WorkerReply): void {
  if (reply.kind === 'ready') {
    slot.readyAt = Date.now();
    dispatch();
    return;
  }
  const { job } = slot;
  clearTimeout(slot.timer);
  slot.job = undefined;
  if (reply.kind === 'result') job?.resolve(reply.value);
  else if (reply.kind === 'expression-error') job?.reject(deserializeExpressionError(reply.error));
  else job?.reject(new Error(`expression worker failed: ${reply.message}`));
  dispatch();
}

/**
 * Stops a worker that overran, ran out of memory or died, fails its job with `error`, and
 * starts a replacement. A worker that failed while starting fails the queue instead, so that
 * a broken worker file does not make the pool respawn forever.
 */
function retire(slot: Slot, error: Error): void {
  if (!slots.delete(slot)) return;
  clearTimeout(slot.timer);
  void slot.worker.terminate();
  slot.job?.reject(error);
  if (slot.readyAt === undefined) {
    for (const job of queue.splice(0)) job.reject(error);
    return;
  }
  spawn();
  dispatch();
}

function outOfMemory(slot: Slot): ExpressionError {
  const source = slot.job?.source ?? '';
  return new ExpressionError(
    `expression ran out of memory (${RESOURCE_LIMITS.maxOldGenerationSizeMb} MB): ${quote(source)}`,
    { code: 'size-budget', expression: source },
  );
}

/**
 * The worker's entry file beside this one: `expression-worker.js` in the compiled output.
 * Under jest this module runs from TypeScript source, and so must the worker; it is started
 * with tools/ts-register.cjs preloaded, which compiles `.ts` files with swc as they are
 * required (the worker's imports are relative files and npm packages only).
 */
function workerEntry(): { file: string; execArgv: string[] } {
  const extension = path.extname(__filename);
  const file = path.join(__dirname, `expression-worker${extension}`);
  if (extension !== '.ts') return { file, execArgv: [] };
  const register = path.resolve(__dirname, '../../../tools/ts-register.cjs');
  return { file, execArgv: ['--require', register] };
}
