import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '@weft/gateway';
import { OPENAPI_FILE, OPENAPI_TYPES_FILE } from '../../tools/openapi-types.cjs';

/**
 * The weft CLI's client is typed from the OpenAPI document: both the committed document and
 * the types generated from it must be current, or the CLI would compile against an API that
 * is not the one served. `npm run schemas` writes both.
 */
describe('the OpenAPI document and the CLI’s generated types', () => {
  it('schemas/openapi.json is what the gateway serves (npm run schemas writes it)', () => {
    expect(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))).toEqual(openApiDocument());
  });

  it('apps/cli/src/api/openapi.d.ts is what openapi-typescript generates from it', () => {
    // In a child process: openapi-typescript loads ES modules, which jest's require cannot.
    const generated = execFileSync(
      process.execPath,
      [join(__dirname, '../../tools/openapi-types.cjs')],
      {
        encoding: 'utf8',
      },
    );
    // The generator read the document: the client's routes are in the types.
    expect(generated).toContain('"/v1/runs/{id}/events"');
    expect(readFileSync(OPENAPI_TYPES_FILE, 'utf8')).toBe(generated);
  });
});
