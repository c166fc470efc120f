#!/usr/bin/env node
// CPU per outbound HTTP call of the egress path `http.request` and the AI providers use
// (`sendOutbound`: SSRF check, pinned connection, response read), measured in-process against a
// loopback keep-alive server that runs in a child process, so only the caller's CPU is counted.
//
//   node bench/http-calls.cjs [--egress <dist folder>] [--calls 20000] [--concurrency 1,32]
//
// `--egress` points at another build of libs/egress (e.g. of an earlier commit) to compare.
'use strict';
const { fork } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const egressDir = path.resolve(option('egress', path.join(__dirname, '../libs/egress/dist')));
const calls = Number(option('calls', '20000'));
const concurrencies = option('concurrency', '1,32').split(',').map(Number);
const { EgressGuard, parseEgressAllow, sendOutbound } = require(egressDir);

function startServer() {
  const child = fork(__filename, ['--serve'], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('message', (port) => resolve({ child, port })));
}

async function measure(port, concurrency) {
  const guard = new EgressGuard(parseEgressAllow('127.0.0.1/32'));
  const url = new URL(`http://127.0.0.1:${port}/call`);
  const body = Buffer.from(JSON.stringify({ hello: 'world' }));
  const one = () =>
    sendOutbound(
      {
        method: 'POST',
        url,
        headers: new Headers({ 'content-type': 'application/json' }),
        body,
        credentialHeaders: [],
      },
      {
        guard,
        signal: AbortSignal.timeout(10_000),
        maxResponseBytes: 1 << 20,
        maxRedirects: 0,
        follows: () => false,
      },
    );
  for (let i = 0; i < 500; i++) await one(); // warm-up: JIT, pools
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) {
        const response = await one();
        if (response.status !== 200) throw new Error(`status ${response.status}`);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return {
    concurrency,
    calls,
    callsPerSecond: Math.round(calls / seconds),
    cpuMicrosPerCall: Math.round((used.user + used.system) / calls),
  };
}

async function main() {
  const { child, port } = await startServer();
  try {
    const results = [];
    for (const concurrency of concurrencies) results.push(await measure(port, concurrency));
    console.log(JSON.stringify({ egress: egressDir, node: process.version, results }, null, 2));
  } finally {
    child.kill();
  }
  // Idle pooled sockets would keep the process up for their idle timeout.
  process.exit(0);
}

if (process.argv.includes('--serve')) {
  const server = require('node:http').createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
