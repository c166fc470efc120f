// `npm run credentials:reseal`: seals every tenant's credentials again under the first key of
// WEFT_SECRET_KEY, so the older keys can then be removed (docs/operations.md). Reads the
// integration service's DATABASE_URL and WEFT_SECRET_KEY.
'use strict';
const { runCredentialReseal } = require('@weft/integration');

runCredentialReseal().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`credentials:reseal failed: ${error.message}`);
    process.exit(1);
  },
);
