import type { PipeTransform } from '@nestjs/common';
import { fieldProblemsOf } from '@weft/contracts';
import type { z } from 'zod';
import { ProblemError } from '../problem/problem';

/** Where the problems of each validated part of a request are rooted. */
const ROOTS = {
  body: ['body'],
  query: ['query'],
  params: ['params'],
  headers: ['headers'],
} as const satisfies Record<string, readonly string[]>;
export type RequestPart = keyof typeof ROOTS;

/**
 * Validates one part of a request against the schema the OpenAPI document is built from, so
 * a problem reads `$.body.name`, `$.query.limit` or `$.headers["idempotency-key"]`.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly part: RequestPart,
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw ProblemError.invalidRequest(fieldProblemsOf(result.error.issues, ROOTS[this.part]));
  }
}
