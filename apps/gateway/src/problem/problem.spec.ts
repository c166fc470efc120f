import { RpcErrorCodes } from '@weft/contracts';
import { jsonPath, problemForRpcCode, ProblemError } from './problem';

describe('problems', () => {
  it('writes JSON paths with dots for names and brackets for indexes', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['steps', 2, 'needs', 0])).toBe('$.steps[2].needs[0]');
  });

  it('maps every RPC error code to an HTTP status', () => {
    const statuses = RpcErrorCodes.map((code) => problemForRpcCode(code, 'x').problem.status);
    expect(statuses).toEqual([400, 404, 409, 503, 500]);
    expect(problemForRpcCode('unavailable', 'x').headers['retry-after']).toBe('1');
    expect(problemForRpcCode('internal', 'secret detail').problem.detail).not.toContain('secret');
  });

  it('lists each field problem of an invalid request', () => {
    const error = ProblemError.invalidRequest([
      { path: '$.name', message: 'required' },
      { path: '$.steps[0].id', message: 'invalid' },
    ]);
    expect(error.problem).toMatchObject({ status: 400, detail: '2 problems in the request' });
    expect(error.problem.errors).toHaveLength(2);
  });
});
