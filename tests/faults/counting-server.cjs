// The fault suite's side-effect target: a loopback HTTP server that records the
// Idempotency-Key of every call and counts, per key, the calls it received and the effects it
// applied. `/honoured/<name>` honours the key the way payment APIs do: the first call performs
// the effect and stores its answer, later calls with the key replay that answer and apply
// nothing. `/plain/<name>` ignores the key, so each call is an effect: it measures how often
// the platform really re-executes a step (at-least-once), which the key is there to absorb.
'use strict';
const http = require('node:http');

/**
 * @typedef {{ route: 'honoured' | 'plain', calls: number, effects: number, replays: number,
 *             refused: number,
 *             subjects: Set<string>, answer?: { status: number, body: string },
 *             pending?: Promise<void> }} KeyRecord
 * @typedef {{ route: 'honoured' | 'plain', calls: number, effects: number, replays: number,
 *             refused: number, missingKey: number, keys: number, maxEffectsPerKey: number,
 *             maxCallsPerKey: number, keysWithSeveralCalls: number,
 *             keysWithSeveralEffects: string[], subjectsWithSeveralEffects: string[],
 *             keysNotMatchingSubject: string[] }} RouteStats
 */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the server on 127.0.0.1 and a free port.
 * @param {{ minDelayMs?: number, maxDelayMs?: number, refuseRate?: number,
 *           random?: () => number }} [options] `refuseRate`: share of first calls answered 503
 *   before any effect, so that steps go through their retry policy.
 */
async function startCountingServer(options = {}) {
  const minDelayMs = options.minDelayMs ?? 5;
  const maxDelayMs = options.maxDelayMs ?? 100;
  const refuseRate = options.refuseRate ?? 0;
  const random = options.random ?? Math.random;
  /** @type {Map<string, KeyRecord>} */
  const keys = new Map();
  /** Effects per subject (`{run}:{step}` from the body): catches a key that changed between attempts. */
  const subjectEffects = { honoured: new Map(), plain: new Map() };
  const missingKey = { honoured: 0, plain: 0 };
  let effectSequence = 0;

  const delay = () => sleep(minDelayMs + random() * Math.max(0, maxDelayMs - minDelayMs));
  const send = (res, status, body) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };

  /** @param {'honoured' | 'plain'} route */
  const record = (route, key, subject) => {
    const id = `${route} ${key}`;
    let entry = keys.get(id);
    if (!entry) {
      entry = {
        route,
        calls: 0,
        effects: 0,
        replays: 0,
        refused: 0,
        subjects: new Set(),
      };
      keys.set(id, entry);
    }
    entry.calls += 1;
    if (subject) entry.subjects.add(subject);
    return entry;
  };

  const effect = (route, entry, key, subject) => {
    entry.effects += 1;
    effectSequence += 1;
    if (subject) subjectEffects[route].set(subject, (subjectEffects[route].get(subject) ?? 0) + 1);
    return JSON.stringify({ effect: effectSequence, key });
  };

  const handle = async (req, res, body) => {
    const match = /^\/(honoured|plain)\/[\w-]+$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return send(res, 404, '{"error":"not found"}');
    const route = /** @type {'honoured' | 'plain'} */ (match[1]);
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') {
      missingKey[route] += 1;
      return send(res, 400, '{"error":"Idempotency-Key is required"}');
    }
    let subject;
    try {
      const parsed = JSON.parse(body);
      if (parsed && parsed.run && parsed.step) subject = `${parsed.run}:${parsed.step}`;
    } catch {
      // a body that is not JSON names no subject
    }
    const entry = record(route, key, subject);
    if (route === 'plain') {
      const answer = effect(route, entry, key, subject);
      await delay();
      return send(res, 200, answer);
    }
    // A call that arrives while the first one is still in progress waits for its answer.
    if (entry.pending) await entry.pending;
    if (entry.answer) {
      entry.replays += 1;
      await delay();
      return send(res, entry.answer.status, entry.answer.body);
    }
    if (random() < refuseRate) {
      entry.refused += 1;
      return send(res, 503, '{"error":"try again"}');
    }
    const answer = effect(route, entry, key, subject);
    entry.pending = delay().then(() => {
      entry.answer = { status: 200, body: answer };
      entry.pending = undefined;
    });
    await entry.pending;
    return send(res, 200, answer);
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error) =>
        send(res, 500, JSON.stringify({ error: String(error) })),
      );
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());

  /** @param {'honoured' | 'plain'} route @returns {RouteStats} */
  const routeStats = (route) => {
    const entries = [...keys.entries()].filter(([, entry]) => entry.route === route);
    const stats = {
      route,
      calls: 0,
      effects: 0,
      replays: 0,
      refused: 0,
      missingKey: missingKey[route],
      keys: entries.length,
      maxEffectsPerKey: 0,
      maxCallsPerKey: 0,
      keysWithSeveralCalls: 0,
      keysWithSeveralEffects: /** @type {string[]} */ ([]),
      subjectsWithSeveralEffects: /** @type {string[]} */ ([]),
      keysNotMatchingSubject: /** @type {string[]} */ ([]),
    };
    for (const [id, entry] of entries) {
      const key = id.slice(route.length + 1);
      stats.calls += entry.calls;
      stats.effects += entry.effects;
      stats.replays += entry.replays;
      stats.refused += entry.refused;
      stats.maxEffectsPerKey = Math.max(stats.maxEffectsPerKey, entry.effects);
      stats.maxCallsPerKey = Math.max(stats.maxCallsPerKey, entry.calls);
      if (entry.calls > 1) stats.keysWithSeveralCalls += 1;
      if (entry.effects > 1) stats.keysWithSeveralEffects.push(key);
      if (entry.subjects.size !== 1 || !entry.subjects.has(key)) {
        stats.keysNotMatchingSubject.push(key);
      }
    }
    for (const [subject, count] of subjectEffects[route]) {
      if (count > 1) stats.subjectsWithSeveralEffects.push(subject);
    }
    return stats;
  };

  return {
    url: `http://127.0.0.1:${address.port}`,
    /** Effects applied for one key of a route (0 when it never arrived). */
    effectsOf: (route, key) => keys.get(`${route} ${key}`)?.effects ?? 0,
    /** Calls received for one key of a route. */
    callsOf: (route, key) => keys.get(`${route} ${key}`)?.calls ?? 0,
    stats: () => ({ honoured: routeStats('honoured'), plain: routeStats('plain') }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

module.exports = { startCountingServer };
