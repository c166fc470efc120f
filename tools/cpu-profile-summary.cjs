#!/usr/bin/env node
// Summarises V8 CPU profiles (`.cpuprofile`, as `node --cpu-prof` writes them) by self time:
// the functions, and the packages or project folders, where the samples fell.
//
//   node tools/cpu-profile-summary.cjs <file.cpuprofile> [--top 30]
//
// A service writes one at exit when the stack runs with WEFT_CPU_PROF_DIR set (tools/stack.cjs).
'use strict';
const fs = require('node:fs');

function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  // Sample intervals: each sample's time is the gap to the next one.
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const delta = timeDeltas[i + 1] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + delta);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map();
  const byPlace = new Map();
  for (const [id, micros] of self) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    const url = callFrame.url.replace(/^file:\/\//, '');
    const fn =
      `${name} ${url ? `${url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const place =
      pkg ??
      (url.includes('/apps/') || url.includes('/libs/')
        ? url.replace(/.*\/((apps|libs)\/[^/]+)\/.*/, '$1')
        : url.startsWith('node:')
          ? 'node (built-in modules)'
          : url === ''
            ? `(${name})`
            : url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  }
  const table = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, micros]) => `${((100 * micros) / total).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n');
  return `${(total / 1e6).toFixed(1)} s sampled\n\nby package or folder:\n${table(byPlace)}\n\nby function:\n${table(byFunction)}`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--top');
  const top = at >= 0 ? Number(args.splice(at, 2)[1]) : 30;
  for (const file of args) {
    console.log(`# ${file}\n${summarise(JSON.parse(fs.readFileSync(file, 'utf8')), top)}\n`);
  }
}

module.exports = { summarise };
