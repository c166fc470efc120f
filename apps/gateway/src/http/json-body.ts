import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { formatJsonPath, type FieldProblem, type PathSegment } from '@weft/contracts';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problem/problem';

/**
 * Deepest nesting of arrays and objects a request body may have; the body itself is level 1.
 * Definitions and run inputs need a handful of levels. Deeper ones would reach code that
 * recurses (validation, serialisation, the engine's JSON handling) and overflow its stack.
 */
export const MAX_JSON_DEPTH = 64;

/** PostgreSQL's jsonb and text cannot store U+0000; such a value would fail deep in a service. */
const NUL = '\u0000';

/** A value still to visit, with what is needed to name its path if it is the culprit. */
interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: PathSegment | undefined;
}

const pathOf = (visit: Visit, root: readonly PathSegment[]): string => {
  const segments: PathSegment[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) {
    segments.push(at.key);
  }
  return formatJsonPath([...root, ...segments.reverse()]);
};

/**
 * The first problem of a parsed JSON value that the gateway's schemas cannot see or would
 * choke on: nesting deeper than `maxDepth`, or a string or object key containing U+0000.
 * Iterative, so 10,000 levels of nesting cost a loop, not a stack overflow.
 */
export function jsonBodyProblem(
  body: unknown,
  root: readonly PathSegment[] = ['body'],
  maxDepth = MAX_JSON_DEPTH,
): FieldProblem | undefined {
  const stack: Visit[] = [{ value: body, depth: 0, parent: undefined, key: undefined }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const { value, key } = visit;
    if (typeof key === 'string' && key.includes(NUL)) {
      return { path: pathOf(visit, root), message: 'has a key containing the character U+0000' };
    }
    if (typeof value === 'string') {
      if (value.includes(NUL)) {
        return { path: pathOf(visit, root), message: 'must not contain the character U+0000' };
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const depth = visit.depth + 1;
    if (depth > maxDepth) {
      return { path: pathOf(visit, root), message: `nests deeper than ${maxDepth} levels` };
    }
    // Pushed in reverse, so the first problem in document order is the one answered.
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], depth, parent: visit, key: i });
      }
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const name = keys[i]!;
      const child = (value as Record<string, unknown>)[name];
      stack.push({ value: child, depth, parent: visit, key: name });
    }
  }
  return undefined;
}

/**
 * Checks every route's parsed JSON body, once, at the edge (a preValidation hook runs after
 * the content-type parser and before the route): deep nesting and U+0000 are answered 400
 * invalid-request with the path of the offending value, not 500 from wherever they break.
 * JSON.parse itself handles any depth (V8's parser does not recurse).
 */
@Injectable()
export class JsonBodyCheck {
  constructor(adapterHost: HttpAdapterHost) {
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('preValidation', (request, _reply, done) => {
      const problem = request.body === undefined ? undefined : jsonBodyProblem(request.body);
      done(problem ? ProblemError.invalidRequest([problem]) : undefined);
    });
  }
}
