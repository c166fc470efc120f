// PostgreSQL's autovacuum for the length of a benchmark.
//
// docs/operations.md says to run PostgreSQL with autovacuum on; it is what analyses and
// vacuums the run history (`runs`, `step_runs` and their partitions). A machine's server may
// have it off (this project's CI machines do, in a conf.d file, for their tests). Benchmarked
// so, the history a benchmark writes is never analysed or vacuumed: the planner takes the
// month's partitions for empty and plans sequential scans of them for the statements that poll
// (4 December 2026, docs/performance.md), and index scans step over every dead row version.
// That measures a server nobody should run, so the benchmark turns autovacuum on while it runs
// — `autovacuum` is reloadable: ALTER SYSTEM, then pg_reload_conf() — and sets back what it
// found when it ends.
'use strict';
const { withServer } = require('../../tools/stack.cjs');

/** Whether autovacuum is on now, and what postgresql.auto.conf says of it (null: nothing). */
async function autovacuumState(client) {
  const { rows } = await client.query(
    `SELECT current_setting('autovacuum') AS now,
            (SELECT setting FROM pg_file_settings
              WHERE name = 'autovacuum' AND sourcefile LIKE '%postgresql.auto.conf'
              ORDER BY seqno DESC LIMIT 1) AS altered`,
  );
  return { on: rows[0].now === 'on', altered: rows[0].altered };
}

/**
 * Turns the machine's server's autovacuum on (when it is off) for the benchmark. Answers what
 * the report records, and `restore()`, which sets back what was found. `wanted` false: leaves
 * the server as it is and only reports it.
 */
async function autovacuumForBenchmark(wanted) {
  const found = await withServer(autovacuumState);
  const report = { autovacuum: found.on ? 'on' : 'off', setForBenchmark: false };
  if (found.on || !wanted) return { report, restore: async () => {} };
  await withServer(async (client) => {
    await client.query('ALTER SYSTEM SET autovacuum = on');
    await client.query('SELECT pg_reload_conf()');
  });
  report.autovacuum = 'on';
  report.setForBenchmark = true;
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    await withServer(async (client) => {
      // What postgresql.auto.conf said before (nothing, or an explicit off).
      await client.query(
        found.altered === null
          ? 'ALTER SYSTEM RESET autovacuum'
          : `ALTER SYSTEM SET autovacuum = ${found.altered === 'on' ? 'on' : 'off'}`,
      );
      await client.query('SELECT pg_reload_conf()');
    });
  };
  // A benchmark stopped with Ctrl-C sets it back too.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      restore().finally(() => process.exit(130));
    });
  }
  return { report, restore };
}

module.exports = { autovacuumForBenchmark };
