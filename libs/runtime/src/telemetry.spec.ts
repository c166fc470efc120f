import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * What the telemetry sets up, seen from the outside: one Node process per exporter (the SDK
 * patches `http` once per process), an HTTP server in it, and a request it makes to itself.
 */
function traced(exporter: 'none' | 'console'): { traceparent: boolean; serverSpan: boolean } {
  const script = `
    const { startTelemetry } = require(${JSON.stringify(join(__dirname, 'telemetry.ts'))});
    const telemetry = startTelemetry('telemetry-spec');
    const http = require('node:http');
    const { trace } = require('@opentelemetry/api');
    const server = http.createServer((request, response) => {
      const seen = {
        traceparent: request.headers.traceparent !== undefined,
        serverSpan: trace.getActiveSpan() !== undefined,
      };
      response.end(JSON.stringify(seen));
    });
    server.listen(0, '127.0.0.1', () => {
      http.get('http://127.0.0.1:' + server.address().port + '/', (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', async () => {
          process.stderr.write('RESULT ' + body + '\\n');
          server.close();
          await telemetry.shutdown();
        });
      });
    });
  `;
  // Node 24 runs the TypeScript source as it is (type stripping). The result goes to stderr: the
  // console exporter prints its spans to stdout.
  const child = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: exporter },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const output = child.stderr;
  const result = /RESULT (.*)/.exec(output);
  if (!result) throw new Error(`no result from the child process: ${output}`);
  return JSON.parse(result[1]!) as { traceparent: boolean; serverSpan: boolean };
}

describe('telemetry', () => {
  it('traces incoming requests without an exporter, and neither traces nor propagates outgoing ones', () => {
    expect(traced('none')).toEqual({ traceparent: false, serverSpan: true });
  });

  it('propagates trace context on outgoing requests when spans are exported', () => {
    expect(traced('console')).toEqual({ traceparent: true, serverSpan: true });
  });
});
