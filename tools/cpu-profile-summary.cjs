#!/usr/bin/env node
// Summarises V8 CPU profiles (`.cpuprofile`, as `node --cpu-prof` writes them) by self time:
// the functions, and the packages or project folders, where the samples fell.
//
//   node tools/cpu-profile-summary.cjs <file.cpuprofile> [--top 30] [--from µs --to µs]
//
// `--from`/`--to` keep the samples taken in that window, in microseconds of the machine's
// monotonic clock: V8 stamps samples with it on Linux, as `process.hrtime` reads it, so another
// process can name the window of a load (bench/run.cjs does, for its report's profiles).
//
// A service writes one at exit when the stack runs with WEFT_CPU_PROF_DIR set (tools/stack.cjs).
'use strict';
const fs = require('node:fs');

/** The sample that says a thread had nothing to run. */
const IDLE = '(idle)';

/** Where a frame's code lives: a package, a project folder, Node's own modules, or none (''). */
function placeOf(callFrame) {
  const url = callFrame.url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.includes('/apps/') || url.includes('/libs/')) {
    return url.replace(/.*\/((apps|libs)\/[^/]+)\/.*/, '$1');
  }
  if (url.startsWith('node:')) return 'node (built-in modules)';
  return url;
}

/**
 * Self time by function and by package or folder, in µs, over the samples in
 * [fromUs, toUs) (every sample without a window); `busyUs` leaves out the idle samples. A
 * sample in Node's own modules or in native code (a socket's `writev`, say) counts for the
 * package or folder that called it, the nearest one up its stack: what the package costs, the
 * runtime's work on its behalf included. Samples with no such caller keep their own place
 * (Node's modules, or `(garbage collector)` and the like).
 */
function selfTimes(profile, { fromUs = -Infinity, toUs = Infinity } = {}) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const callerPlace = new Map();
  /** The nearest package or project folder at or above `id`, or undefined. */
  const callerOf = (id) => {
    if (callerPlace.has(id)) return callerPlace.get(id);
    const place = placeOf(byId.get(id).callFrame);
    const parent = parentOf.get(id);
    const found =
      place !== '' && place !== 'node (built-in modules)'
        ? place
        : parent === undefined
          ? undefined
          : callerOf(parent);
    callerPlace.set(id, found);
    return found;
  };
  const self = new Map();
  // Sample i is taken at startTime + timeDeltas[0..i]; its time is the gap to the next one.
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i];
    if (at < fromUs || at >= toUs) continue;
    const delta = timeDeltas[i + 1] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + delta);
  }
  const byFunction = new Map();
  const byPlace = new Map();
  let sampledUs = 0;
  let busyUs = 0;
  for (const [id, micros] of self) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    sampledUs += micros;
    if (name !== IDLE) busyUs += micros;
    const url = callFrame.url.replace(/^file:\/\//, '');
    const fn =
      `${name} ${url ? `${url.split('/').slice(-2).join('/')}:${callFrame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    const place = callerOf(id) ?? (placeOf(callFrame) || `(${name})`);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  }
  return { sampledUs, busyUs, byFunction, byPlace };
}

/** The `top` entries of a self-time map, largest first, without the idle samples. */
const ranked = (map, top) =>
  [...map]
    .filter(([key]) => key !== IDLE && key !== `(${IDLE})`)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);

function summarise(profile, top, window) {
  const { sampledUs, byFunction, byPlace } = selfTimes(profile, window);
  const table = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, micros]) => `${((100 * micros) / sampledUs).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n');
  return `${(sampledUs / 1e6).toFixed(1)} s sampled\n\nby package or folder:\n${table(byPlace)}\n\nby function:\n${table(byFunction)}`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const take = (flag) => {
    const at = args.indexOf(flag);
    return at >= 0 ? Number(args.splice(at, 2)[1]) : undefined;
  };
  const top = take('--top') ?? 30;
  const window = { fromUs: take('--from'), toUs: take('--to') };
  for (const file of args) {
    console.log(
      `# ${file}\n${summarise(JSON.parse(fs.readFileSync(file, 'utf8')), top, window)}\n`,
    );
  }
}

module.exports = { summarise, selfTimes, ranked };
