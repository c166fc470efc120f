#!/usr/bin/env node
// The `weft` command. Committed (not built) so that npm links it into node_modules/.bin when
// the workspace is installed, before the first build; the program itself is the compiled
// dist/main.js (`npm run build`).
'use strict';
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'main.js');
try {
  require.resolve(main);
} catch {
  console.error('weft: the CLI is not built yet; run `npm run build` in the Weft repository first');
  process.exit(1);
}
require(main);
