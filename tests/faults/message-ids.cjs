// The fault suite's check of the messages its steps sent to real servers (an SMTP server, a
// Kafka topic): a step's message may arrive more than once after a fault (a retried attempt
// sends it again), but every copy must carry the same id — the Message-ID or the
// `idempotency-key` header derived from the step's idempotency key — so that a receiver can drop
// the copies. Pure functions, unit-tested in message-ids.spec.ts.
'use strict';
const { createHash } = require('node:crypto');

/** The Message-ID `email.send` derives from a step's idempotency key (its connector). */
const messageIdOf = (idempotencyKey) =>
  `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@weft>`;

/**
 * The header fields of a raw message (RFC 5322): names lower-cased, folded lines unfolded, the
 * first field of each name. Reads up to the blank line that ends the header.
 * @param {string | Buffer} raw
 * @returns {Record<string, string>}
 */
function headersOf(raw) {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const header = (end === -1 ? text : text.slice(0, end)).replace(/\r?\n(?=[ \t])/g, '');
  /** @type {Record<string, string>} */
  const fields = {};
  for (const line of header.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in fields)) fields[name] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** How many examples of each problem a report keeps. */
const EXAMPLES = 20;

/**
 * Counts the distinct ids each step's messages carried.
 * @param {Iterable<{ step?: string | null, id?: string | null }>} messages what the server
 *   received: `step` is the `{runId}:{stepId}` the message names, `id` the id it carries.
 * @param {{ required?: Iterable<string>, expectedIdOf?: (step: string) => string }} [options]
 *   `required`: the steps that must have arrived (those of succeeded runs), each with exactly
 *   one id; `expectedIdOf`: the id a step's messages must carry.
 */
function idsPerStep(messages, { required = [], expectedIdOf } = {}) {
  /** @type {Map<string, Map<string, number>>} copies of each id, per step */
  const byStep = new Map();
  let received = 0;
  let withoutStep = 0;
  let withoutId = 0;
  for (const message of messages) {
    received += 1;
    if (!message.step) {
      withoutStep += 1;
      continue;
    }
    if (!message.id) {
      withoutId += 1;
      continue;
    }
    const ids = byStep.get(message.step) ?? new Map();
    ids.set(message.id, (ids.get(message.id) ?? 0) + 1);
    byStep.set(message.step, ids);
  }
  let distinctIds = 0;
  let maxIdsPerStep = 0;
  let copies = 0;
  let stepsWithCopies = 0;
  const stepsWithSeveralIds = [];
  const idsNotMatchingStep = [];
  for (const [step, ids] of byStep) {
    distinctIds += ids.size;
    maxIdsPerStep = Math.max(maxIdsPerStep, ids.size);
    const arrived = [...ids.values()].reduce((sum, n) => sum + n, 0);
    copies += arrived - ids.size;
    if (arrived > ids.size) stepsWithCopies += 1;
    if (ids.size > 1) stepsWithSeveralIds.push({ step, ids: Object.fromEntries(ids) });
    if (expectedIdOf) {
      const expected = expectedIdOf(step);
      for (const id of ids.keys()) {
        if (id !== expected) idsNotMatchingStep.push({ step, id, expected });
      }
    }
  }
  const requiredSteps = new Set(required);
  const requiredWithoutOneId = [...requiredSteps].filter((step) => byStep.get(step)?.size !== 1);
  return {
    received,
    steps: byStep.size,
    distinctIds,
    maxIdsPerStep,
    /** Messages that repeated an id their step had already delivered: expected after retries. */
    copies,
    stepsWithCopies,
    stepsWithSeveralIds: stepsWithSeveralIds.length,
    requiredSteps: requiredSteps.size,
    requiredWithoutOneId: requiredWithoutOneId.length,
    idsNotMatchingStep: idsNotMatchingStep.length,
    withoutStep,
    withoutId,
    examples: {
      stepsWithSeveralIds: stepsWithSeveralIds.slice(0, EXAMPLES),
      requiredWithoutOneId: requiredWithoutOneId.slice(0, EXAMPLES),
      idsNotMatchingStep: idsNotMatchingStep.slice(0, EXAMPLES),
    },
  };
}

/**
 * The check: every message named its step and carried an id, no step had two ids, every id was
 * the one derived from its step's key, and every required step arrived with exactly one id.
 * `complete: false` (the read-back did not reach the end) fails it too.
 * @param {ReturnType<typeof idsPerStep> & { complete?: boolean }} figures
 */
const idsPerStepPassed = (figures) =>
  figures.complete !== false &&
  figures.maxIdsPerStep <= 1 &&
  figures.stepsWithSeveralIds === 0 &&
  figures.idsNotMatchingStep === 0 &&
  figures.requiredWithoutOneId === 0 &&
  figures.withoutStep === 0 &&
  figures.withoutId === 0;

module.exports = { headersOf, idsPerStep, idsPerStepPassed, messageIdOf };
