// Trigger-to-succeeded latency of a 3-step run (transform → http.request → transform) in the
// distributed mode: four processes on the real servers, one run at a time, so the figure is
// the platform's own latency, not queueing. `npm run bench:latency [-- runs]`.
'use strict';
const http = require('node:http');
const { startStack } = require('../tools/stack.cjs');

const RUNS = Number(process.argv[2] ?? 200);

async function call(base, key, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const target = http.createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    );
  });
  await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetUrl = `http://127.0.0.1:${target.address().port}/hook`;
  const stack = await startStack({
    basePort: 3700,
    database: 'weft_bench',
    env: { WEFT_EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn' },
  });
  try {
    const base = stack.gatewayUrl;
    const { apiKey } = await call(base, stack.adminKey, 'POST', '/v1/tenants', { name: 'bench' });
    const workflow = await call(base, apiKey, 'POST', '/v1/workflows', {
      name: 'three-steps',
      steps: [
        { id: 'prepare', type: 'transform', with: { value: { n: '{{ input.n }}' } } },
        {
          id: 'call',
          type: 'http.request',
          needs: ['prepare'],
          with: { method: 'POST', url: targetUrl, body: '{{ steps.prepare.output }}' },
        },
        {
          id: 'finish',
          type: 'transform',
          needs: ['call'],
          with: { value: '{{ steps.call.output.status }}' },
        },
      ],
    });
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
