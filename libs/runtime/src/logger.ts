import { trace } from '@opentelemetry/api';
import type { LoggerService } from '@nestjs/common';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const severity: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const FRAMEWORK_CHATTER = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/**
 * One JSON object per line on stdout, with the active trace id, so logs of one run can be
 * joined across services. Implements Nest's LoggerService so framework logs look the same.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly level: LogLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  /** A logger for a service, at LOG_LEVEL when valid; configuration is validated later. */
  static forService(service: string, env: NodeJS.ProcessEnv = process.env): JsonLogger {
    const level = env['LOG_LEVEL'];
    return new JsonLogger(service, level && level in severity ? (level as LogLevel) : 'info');
  }

  /**
   * Takes Node's process warnings over from its default plain-text printer (kafkajs, for one,
   * triggers a TimeoutNegativeWarning), so everything a service prints stays JSON lines.
   */
  captureProcessWarnings(): this {
    process.removeAllListeners('warning');
    process.on('warning', (warning) => this.event('warn', 'process warning', { err: warning }));
    return this;
  }

  log(message: unknown, ...rest: unknown[]): void {
    // Nest's start-up chatter (one line per module and route) is debug material.
    const context = rest.at(-1);
    const chatter = typeof context === 'string' && FRAMEWORK_CHATTER.has(context);
    this.emit(chatter ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }

  /** Structured entry with fields, for the project's own code. */
  event(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (severity[level] < severity[this.level]) return;
    const span = trace.getActiveSpan()?.spanContext();
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: this.service,
      msg,
      ...fields,
    };
    if (span && span.traceId !== '00000000000000000000000000000000') {
      entry['traceId'] = span.traceId;
      entry['spanId'] = span.spanId;
    }
    this.write(`${JSON.stringify(entry, errorReplacer)}\n`);
  }

  private emit(level: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes the context as the last string argument and, for errors, a stack before it.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields['context'] = context;
    if (stack) fields['stack'] = stack;
    if (message instanceof Error) {
      this.event(level, message.message, { ...fields, err: message });
    } else if (typeof message === 'object' && message !== null) {
      this.event(level, 'msg' in message ? String(message.msg) : '', { ...fields, ...message });
    } else {
      this.event(level, String(message), fields);
    }
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}
