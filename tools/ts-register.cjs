// Lets a Node process (an expression worker thread started by tests that run from TypeScript
// sources) require `.ts` files: each is compiled to CommonJS by swc, as jest does. Registering
// the extension also makes extensionless relative requires (`./expressions`) find `.ts` files.
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
