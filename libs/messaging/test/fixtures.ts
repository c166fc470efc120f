import { randomUUID } from 'node:crypto';
import type { StepResult, StepTask } from '@weft/contracts';
import { JsonLogger } from '@weft/runtime';

/** A logger that keeps its lines, so tests can assert on what was logged. */
export function memoryLogger(): { logger: JsonLogger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = new JsonLogger('test', 'debug', (line) => lines.push(line));
  return { logger, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export function stepTask(overrides: Partial<StepTask> = {}): StepTask {
  const runId = overrides.runId ?? randomUUID();
  return {
    schemaVersion: 1,
    runId,
    tenantId: '6f1c9a52-3f4e-4d0b-9a55-0c1f2b3a4d5e',
    stepId: 'fetch',
    stepType: 'http.request',
    attempt: 1,
    idempotencyKey: `${runId}:fetch`,
    input: {},
    timeoutMs: 30_000,
    ...overrides,
  };
}

export function stepResult(overrides: Partial<StepResult> = {}): StepResult {
  return {
    schemaVersion: 1,
    runId: randomUUID(),
    stepId: 'fetch',
    attempt: 1,
    worker: 'test',
    finishedAt: new Date().toISOString(),
    outcome: 'succeeded',
    output: { ok: true },
    ...overrides,
  } as StepResult;
}

/** Resolves when `predicate` holds, polling; fails the test with `what` after `timeoutMs`. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
