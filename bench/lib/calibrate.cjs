// The host's calibration, in every report: a fixed JavaScript loop's time, PostgreSQL's
// select-only pgbench throughput, and the CPU the hypervisor stole meanwhile, so that figures
// from two hosts (or one host on two days) can be put side by side.
'use strict';
const { execFileSync } = require('node:child_process');
const { Client } = require('pg');
const { machineCpu, stealPercent } = require('./measure.cjs');

/** Iterations of the loop: a few hundred ms on one core of a 2-vCPU EPYC guest. */
const LOOP_ITERATIONS = 30_000_000;

/**
 * A deterministic CPU-bound loop (xorshift32 and integer sums: no allocation, no GC, no
 * I/O). Answers its checksum, which is the same on every host.
 */
function fixedLoop() {
  let x = 0x9e3779b9;
  let sum = 0;
  for (let i = 0; i < LOOP_ITERATIONS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    sum = (sum + ((x >>> 0) % 1000)) | 0;
  }
  return sum;
}

/** The loop's wall time, five times after one unmeasured run (JIT warm-up); the median. */
function jsLoop() {
  fixedLoop();
  const times = [];
  let checksum;
  for (let i = 0; i < 5; i++) {
    const begin = performance.now();
    checksum = fixedLoop();
    times.push(Math.round((performance.now() - begin) * 10) / 10);
  }
  return {
    iterations: LOOP_ITERATIONS,
    checksum,
    timesMs: times,
    medianMs: [...times].sort((a, b) => a - b)[2],
  };
}

/** The pgbench that ships with the machine's PostgreSQL, or undefined. */
function pgbenchPath() {
  for (const candidate of ['pgbench', '/usr/lib/postgresql/15/bin/pgbench']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * `pgbench -S -c 2 -j 2 -T <seconds>` (select-only, two clients) on a scratch database of scale
 * 10, initialised once and kept (`database`, on the server of `serverUrl`).
 * @param {(database: string) => string} serverUrl
 */
async function pgbenchSelectOnly(serverUrl, database, seconds = 10) {
  const pgbench = pgbenchPath();
  if (!pgbench) return { error: 'pgbench not found' };
  const admin = new Client({ connectionString: serverUrl('postgres') });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = serverUrl(database);
  const db = new Client({ connectionString: url });
  await db.connect();
  let initialised;
  try {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM pgbench_branches');
    initialised = rows[0].n === 10;
  } catch {
    initialised = false;
  } finally {
    await db.end();
  }
  const run = (args) =>
    execFileSync(pgbench, [...args, url], {
      encoding: 'utf8',
      timeout: (seconds + 120) * 1000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  if (!initialised) run(['-i', '-s', '10', '-q']);
  const before = machineCpu();
  const out = run(['-S', '-n', '-c', '2', '-j', '2', '-T', String(seconds)]);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  return {
    command: `pgbench -S -n -c 2 -j 2 -T ${seconds} (scale 10)`,
    tps: tps ? Math.round(Number(tps[1])) : null,
    stealPercent: stealPercent(before, machineCpu()),
  };
}

/**
 * The calibration block: the JavaScript loop, pgbench, and the steal meanwhile. `finish()`
 * (called when the benchmark ends) adds the steal over the whole benchmark.
 */
async function calibrate(serverUrl, database) {
  const before = machineCpu();
  const loop = jsLoop();
  const pgbench = await pgbenchSelectOnly(serverUrl, database).catch((error) => ({
    error: error.message.split('\n')[0],
  }));
  return {
    node: process.version,
    jsLoop: loop,
    pgbench,
    stealPercentDuringCalibration: stealPercent(before, machineCpu()),
  };
}

module.exports = { calibrate, jsLoop };
