#!/usr/bin/env node
// Writes schemas/workflow.json from the definition model (libs/definitions, built). A unit test
// fails when the committed file is not what this writes: run `npm run schemas` after changing
// a step type, a trigger or the definition's fields.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { workflowJsonSchema } = require('../libs/definitions/dist');

const file = path.join(__dirname, '..', 'schemas', 'workflow.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
