import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

/**
 * Set while the service sheds load (the gateway's LoadShedding): incoming requests are left
 * untraced meanwhile. A span per shed request was the largest single cost of an overloaded
 * gateway (docs/reliability.md § Overload), spent exactly when CPU is shortest.
 */
export const requestTracing = { paused: false };

/** Liveness, readiness and metrics polls: many, alike, and of no interest in a trace. */
const PROBES = new Set(['/health', '/ready', '/metrics']);

export type TraceExporterName = 'none' | 'otlp' | 'console';

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK. Call it before the app's modules are loaded so the
 * instrumentations can patch http, pg and ioredis. With the exporter off, spans of incoming
 * HTTP requests and of messages are still created (a no-op processor keeps the tracer provider
 * alive) so trace ids reach the logs and W3C trace context crosses RabbitMQ and Kafka; spans of
 * database statements and of outgoing HTTP requests are not.
 */
export function startTelemetry(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): Telemetry {
  const exporter = (env['OTEL_TRACES_EXPORTER'] ?? 'none') as TraceExporterName;
  return startNodeSdk({
    logLevel: env['OTEL_LOG_LEVEL'] ?? 'error',
    resourceAttributes: { 'service.name': env['OTEL_SERVICE_NAME'] ?? `weft-${serviceName}` },
    propagators: [new W3CTraceContextPropagator()],
    spanProcessors: [spanProcessorFor(exporter)],
    metricReaders: [],
    logRecordProcessors: [],
    // Query spans are leaves: with nothing exported they would only cost (a span per
    // statement was ~4 % of the engine's CPU, docs/performance.md), and logs and context
    // propagation need only the spans that enclose them.
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) =>
          requestTracing.paused || PROBES.has(request.url ?? ''),
        // An outgoing request (an `http.request` step, an LLM call) is a leaf as well: with
        // nothing exported its span only costs (about 40 µs of CPU a call, docs/performance.md),
        // and the `traceparent` it would send a tenant's server names a trace that exists
        // nowhere. So `http.request` and `http.get` are not wrapped at all then.
        disableOutgoingRequestInstrumentation: exporter === 'none',
      }),
      ...(exporter === 'none' ? [] : [new PgInstrumentation(), new IORedisInstrumentation()]),
    ],
  });
}

function spanProcessorFor(exporter: TraceExporterName): SpanProcessor {
  switch (exporter) {
    case 'none':
      return new NoopSpanProcessor();
    case 'console':
      return new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() });
    case 'otlp':
      // Endpoint and headers come from the standard OTEL_EXPORTER_OTLP_* variables.
      return new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  }
}
