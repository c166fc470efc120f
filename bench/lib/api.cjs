// The benchmarks' own calls to the API: set-up, and waiting for the engine between loads.
'use strict';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One API call; a 429/503 is retried after its Retry-After. Throws on any other non-2xx. */
async function call(base, key, method, urlPath, body) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${base}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const json = await response.json();
    const retryAfter = Number(response.headers.get('retry-after'));
    if ((response.status === 429 || response.status === 503) && retryAfter > 0 && attempt < 30) {
      await sleep(retryAfter * 1000);
      continue;
    }
    if (response.status >= 300)
      throw new Error(`${method} ${urlPath}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }
}

/**
 * Waits until no run of the tenant is queued or running, so that one load's runs do not
 * compete with the next load for the CPU; the wait in ms, or null past `limitMs`.
 */
async function waitForDrain(base, apiKey, limitMs = 180_000) {
  const started = Date.now();
  for (;;) {
    const [queued, running] = await Promise.all(
      ['queued', 'running'].map((status) =>
        call(base, apiKey, 'GET', `/v1/runs?status=${status}&limit=1`),
      ),
    );
    if (queued.items.length === 0 && running.items.length === 0) return Date.now() - started;
    if (Date.now() - started > limitMs) return null;
    await sleep(1_000);
  }
}

module.exports = { call, sleep, waitForDrain };
