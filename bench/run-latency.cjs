// Trigger-to-succeeded latency of a 3-step run (transform → http.request → transform) in the
// distributed mode: four processes on the real servers, one run at a time, so the figure is
// the platform's own latency, not queueing. `npm run bench:latency [-- runs]`.
'use strict';
const { startStack } = require('../tools/stack.cjs');
const { call } = require('./lib/api.cjs');
const { startTarget, threeSteps } = require('./lib/workloads.cjs');

const RUNS = Number(process.argv[2] ?? 200);

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const target = await startTarget();
  const stack = await startStack({
    basePort: 3700,
    database: 'weft_bench',
    env: { WEFT_EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn' },
  });
  try {
    const base = stack.gatewayUrl;
    const { apiKey } = await call(base, stack.adminKey, 'POST', '/v1/tenants', { name: 'bench' });
    const workflow = await call(
      base,
      apiKey,
      'POST',
      '/v1/workflows',
      threeSteps('three-steps', target.url),
    );
    const observed = [];
    const server = [];
    for (let n = 0; n < RUNS; n++) {
      const started = performance.now();
      const run = await call(base, apiKey, 'POST', `/v1/workflows/${workflow.id}/runs`, {
        input: { n },
      });
      for (;;) {
        const view = await call(base, apiKey, 'GET', `/v1/runs/${run.id}`);
        if (view.status === 'succeeded') {
          observed.push(performance.now() - started);
          server.push(Date.parse(view.finishedAt) - Date.parse(view.createdAt));
          break;
        }
        if (view.status !== 'queued' && view.status !== 'running')
          throw new Error(`run ${run.id} ${view.status}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    const report = (name, values) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `${name}: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms`;
    };
    console.log(
      `${RUNS} runs of transform → http.request → transform, one at a time (distributed mode)`,
    );
    console.log(report('trigger → succeeded, seen by the client (2 ms polling)', observed));
    console.log(report('createdAt → finishedAt, recorded by the engine', server));
  } finally {
    await stack.stop();
    target.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
