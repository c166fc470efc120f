import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

const tracer = trace.getTracer('weft.messaging');

/** W3C trace context (`traceparent`, `tracestate`) of the active span, as message headers. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/**
 * Runs a consumer's work in a span whose parent is the producer's span, taken from the
 * message headers, so one trace follows a run across RabbitMQ and Kafka.
 */
export function consumeInTraceContext<T>(
  headers: Readonly<Record<string, string>>,
  spanName: string,
  work: () => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  return tracer.startActiveSpan(spanName, { kind: SpanKind.CONSUMER }, parent, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
