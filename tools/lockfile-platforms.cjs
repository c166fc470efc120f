#!/usr/bin/env node
// Adds lockfile entries for platform packages the registry mirror here does not serve.
//
// The npm registry this machine reaches answers 404 for other platforms' binaries
// (@swc/core-darwin-arm64, @unrs/resolver-binding-win32-x64-msvc, ...), so `npm install`
// leaves them out of package-lock.json and `npm ci` then refuses the lock as "out of sync"
// (npm/cli#9846). An entry with the exact version and `optional: true` is all `npm ci` needs;
// it never fetches a package built for another platform. Run after any `npm install` that
// rewrites the lock: `node tools/lockfile-platforms.cjs && npm install`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;
const added = [];
for (const [at, meta] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    if (packages[`node_modules/${name}`] || packages[`${at}/node_modules/${name}`]) continue;
    if (!/^\d+\.\d+\.\d+/.test(version))
      throw new Error(`${at} wants ${name}@${version}: not an exact version`);
    packages[`node_modules/${name}`] = {
      version,
      ...(meta.dev ? { dev: true } : {}),
      optional: true,
    };
    added.push(`${name}@${version}`);
  }
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  added.length ? `added ${added.length} entries: ${added.join(', ')}` : 'lockfile complete',
);
