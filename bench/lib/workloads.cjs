// The workflows the benchmarks run, and the loopback server their HTTP steps call.
'use strict';
const http = require('node:http');

/** One `transform` step: a run the engine executes alone. */
const oneTransform = (name) => ({
  name,
  steps: [{ id: 'echo', type: 'transform', with: { value: '{{ input.n }}' } }],
});

/** `transform` → `http.request` to `targetUrl` → `transform`. */
const threeSteps = (name, targetUrl) => ({
  name,
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

/**
 * n8n's "webhook → Set → IF → Set", started by a signed webhook at `hookPath` whose secret is
 * the hmac credential `secretName`: total the order, tag it big or small (two steps with `if`,
 * as in examples/signed-webhook.json), then a join that shapes the answer. The join says
 * `anySucceeded`: one branch is always skipped, and the default policy would skip it too.
 */
const webhookSteps = (name, hookPath, secretName) => ({
  name,
  triggers: [{ type: 'webhook', path: hookPath, secret: secretName }],
  steps: [
    {
      id: 'total',
      type: 'transform',
      with: { value: '{{ $sum(input.items.(price * quantity)) }}' },
    },
    {
      id: 'big',
      type: 'transform',
      needs: ['total'],
      if: '{{ steps.total.output >= 100 }}',
      with: { value: 'big' },
    },
    {
      id: 'small',
      type: 'transform',
      needs: ['total'],
      if: '{{ steps.total.output < 100 }}',
      with: { value: 'small' },
    },
    {
      id: 'finish',
      type: 'transform',
      needs: ['big', 'small'],
      needsPolicy: 'anySucceeded',
      with: {
        value: {
          total: '{{ steps.total.output }}',
          size: '{{ steps.big.output ? steps.big.output : steps.small.output }}',
        },
      },
    },
  ],
  output: '{{ steps.finish.output }}',
});

/** The target of the `http.request` steps, on 127.0.0.1: answers `{"ok":true}` at once. */
async function startTarget() {
  const target = http.createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    );
  });
  target.keepAliveTimeout = 60_000;
  await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${target.address().port}/hook`, close: () => target.close() };
}

module.exports = { oneTransform, startTarget, threeSteps, webhookSteps };
