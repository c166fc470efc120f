#!/usr/bin/env node
// Writes what clients are generated from, all of it built (`npm run schemas` builds first):
// - schemas/workflow.json from the definition model (libs/definitions);
// - schemas/openapi.json, the gateway's OpenAPI document (apps/gateway), as GET /v1/openapi.json serves it;
// - apps/cli/src/api/openapi.d.ts, the CLI's API types generated from that document.
// Unit tests fail when a committed file is not what this writes: run `npm run schemas` after
// changing a step type, a trigger, the definition's fields or a route of the API.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { workflowJsonSchema } = require('../libs/definitions/dist');
const { openApiDocument } = require('../apps/gateway/dist');
const { OPENAPI_FILE, OPENAPI_TYPES_FILE, openApiTypes } = require('./openapi-types.cjs');

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

async function main() {
  write(
    path.join(__dirname, '..', 'schemas', 'workflow.json'),
    `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`,
  );
  const document = openApiDocument();
  write(OPENAPI_FILE, `${JSON.stringify(document, null, 2)}\n`);
  write(OPENAPI_TYPES_FILE, await openApiTypes(document));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
