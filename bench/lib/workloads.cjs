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

module.exports = { oneTransform, startTarget, threeSteps };
