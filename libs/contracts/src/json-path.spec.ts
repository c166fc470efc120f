import { formatJsonPath } from './json-path';

describe('formatJsonPath', () => {
  it('formats keys and indexes, quoting keys that are not identifiers', () => {
    expect(formatJsonPath([])).toBe('$');
    expect(formatJsonPath(['steps', 2, 'needs', 0])).toBe('$.steps[2].needs[0]');
    expect(formatJsonPath(['steps', 1, 'with', 'headers', 'x-request-id'])).toBe(
      '$.steps[1].with.headers["x-request-id"]',
    );
  });
});
