import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { jsonStorageProblem } from '@weft/contracts';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problem/problem';

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
      const problem =
        request.body === undefined ? undefined : jsonStorageProblem(request.body, ['body']);
      done(problem ? ProblemError.invalidRequest([problem]) : undefined);
    });
  }
}
