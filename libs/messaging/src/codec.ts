import { describeIssues } from '@weft/contracts';
import type { z } from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses a message body and validates it against its contract; never throws. */
export function decode<S extends z.ZodType>(schema: S, body: Buffer | string): Decoded<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString());
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  return validate(schema, json);
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): Decoded<z.infer<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: `invalid message: ${describeIssues(result.error.issues)}` };
}

export const encode = (message: unknown): Buffer => Buffer.from(JSON.stringify(message));

/** Broker headers (strings, numbers, Buffers, arrays of them) as plain strings. */
export function stringHeaders(
  headers: Record<string, unknown> | undefined,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, raw] of Object.entries(headers ?? {})) {
    const value: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string') result[key] = value;
    else if (typeof value === 'number') result[key] = String(value);
    else if (Buffer.isBuffer(value)) result[key] = value.toString();
  }
  return result;
}
