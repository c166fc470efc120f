import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainErrorCodes, ErrorCatalogue, formatJsonPath, type ErrorKind } from '@weft/contracts';
import { problemFor, problemTypeOf, ProblemError } from './problem';

const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  limited: 429,
  unavailable: 503,
  internal: 500,
};

describe('problems', () => {
  it('writes JSON paths with dots for names and brackets for indexes', () => {
    expect(formatJsonPath([])).toBe('$');
    expect(formatJsonPath(['steps', 2, 'needs', 0])).toBe('$.steps[2].needs[0]');
  });

  it('maps every code to a problem type of its own, its title and the status of its kind', () => {
    const problems = DomainErrorCodes.map((code) => problemFor(code, 'x').problem);
    expect(new Set(problems.map((problem) => problem.type)).size).toBe(DomainErrorCodes.length);
    DomainErrorCodes.forEach((code, i) => {
      const { kind, title } = ErrorCatalogue[code];
      expect(problems[i]).toMatchObject({
        type: problemTypeOf(code),
        title,
        status: STATUS_OF_KIND[kind],
      });
    });
    expect(problemTypeOf('run_not_retryable')).toBe('urn:weft:problem:run-not-retryable');
  });

  it('tells a client to retry when unavailable, and hides internal details', () => {
    expect(problemFor('unavailable', 'x').headers['retry-after']).toBe('1');
    expect(problemFor('internal', 'secret detail').problem.detail).not.toContain('secret');
  });

  it('lists each field problem of an invalid request', () => {
    const error = ProblemError.invalidRequest([
      { path: '$.name', message: 'required' },
      { path: '$.steps[0].id', message: 'invalid' },
    ]);
    expect(error.problem).toMatchObject({
      type: 'urn:weft:problem:invalid-request',
      status: 400,
      detail: '2 problems in the request',
    });
    expect(error.problem.errors).toHaveLength(2);
    const definition = problemFor('workflow_definition_invalid', 'the definition has 1 problem', [
      { path: '$.body.steps[0].id', message: 'invalid' },
    ]);
    expect(definition.problem.errors).toEqual([{ path: '$.body.steps[0].id', message: 'invalid' }]);
  });
});

describe('docs/reference/api.md', () => {
  /** Type → status and title, from the rows of its table of problem types. */
  const documented = new Map(
    [
      ...readFileSync(join(__dirname, '../../../../docs/reference/api.md'), 'utf8').matchAll(
        /^\| `(urn:weft:problem:[a-z-]+)` +\| (\d{3}) +\| ([^|]+?) +\|/gm,
      ),
    ].map(([, type, status, title]) => [type!, { status: Number(status), title }]),
  );

  it('lists every code of the catalogue with its status and title', () => {
    for (const code of DomainErrorCodes) {
      const { problem } = problemFor(code, 'x');
      expect([problemTypeOf(code), documented.get(problemTypeOf(code))]).toEqual([
        problemTypeOf(code),
        { status: problem.status, title: problem.title },
      ]);
    }
  });

  it('lists no type that neither the catalogue nor the gateway answers', () => {
    // The gateway's own: authentication, load shedding and HTTP-level refusals.
    const gatewayTypes = [
      'unauthorized',
      'overloaded',
      'bad-request',
      'not-found',
      'payload-too-large',
      'unsupported-media-type',
      'request-timeout',
      'request-header-fields-too-large',
      'too-many-event-streams',
    ].map((slug) => `urn:weft:problem:${slug}`);
    expect([...documented.keys()].sort()).toEqual(
      [...DomainErrorCodes.map(problemTypeOf), ...gatewayTypes].sort(),
    );
  });
});
