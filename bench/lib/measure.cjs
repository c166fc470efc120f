// What the benchmarks read off the machine while a load runs: CPU and memory of each process
// (from /proc), the CPU of the servers the stack runs on, the kernel's TCP counters, and the
// machine itself for the report's header.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_SIZE = 4096;

/** CPU seconds, resident memory and open descriptors of a process, from /proc. */
function processSample(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      rssMiB: (Number(fields[21]) * PAGE_SIZE) / 2 ** 20,
      fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    };
  } catch {
    return undefined; // gone
  }
}

/**
 * Busy, stolen and total CPU time of the whole machine, from /proc/stat (all cores). `steal` is
 * time the hypervisor ran something else while this guest had work: it is in `total` (not in
 * `busy`), so a host that steals shows it as a share of the CPU time.
 */
function machineCpu() {
  const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal guest guest_nice: guest time is already
  // counted in user and nice, so the total stops at steal.
  const values = fields.slice(0, 8).map(Number);
  const idle = values[3] + values[4]; // idle + iowait
  const steal = values[7] ?? 0;
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle - steal, steal, total };
}

/** Steal between two machineCpu() readings, in % of the machine's CPU time (all cores). */
const stealPercent = (before, after) =>
  after.total > before.total
    ? Math.round((1000 * (after.steal - before.steal)) / (after.total - before.total)) / 10
    : 0;

/** The servers a stack runs on, by the name of their processes. */
const SERVER_PROCESSES = {
  postgres: /^postgres$/,
  rabbitmq: /^(beam\.smp|erl_child_setup|inet_gethost)$/,
  kafka: /^java$/,
  redis: /^redis-server$/,
};

/** CPU seconds of every process, by pid, with the server it belongs to (if any). */
function serverCpu() {
  const byPid = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const server = Object.keys(SERVER_PROCESSES).find((name) =>
        SERVER_PROCESSES[name].test(comm),
      );
      if (!server) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(entry, { server, cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS });
    } catch {
      // gone
    }
  }
  return byPid;
}

/**
 * The servers' CPU seconds over a window, read every second: a process born in the window (a new
 * PostgreSQL backend, a parallel worker) counts from zero, and one that ended in it counts up to
 * its last reading. Read only at the window's ends, the CPU of every backend that ended in
 * between was lost — most of PostgreSQL's under a pool that closes idle connections.
 */
function serverCpuCounter() {
  const used = Object.fromEntries(Object.keys(SERVER_PROCESSES).map((name) => [name, 0]));
  let last = serverCpu();
  return {
    read() {
      const now = serverCpu();
      for (const [pid, reading] of now) {
        used[reading.server] += reading.cpuS - (last.get(pid)?.cpuS ?? 0);
      }
      last = now;
    },
    used,
  };
}

/** CPU used by each server (serverCpuCounter's `used`) over `seconds`, in % of one core. */
function serverCpuPercent(used, seconds) {
  return {
    percent: Object.fromEntries(
      Object.entries(used).map(([name, cpuS]) => [name, Math.round((100 * cpuS) / seconds)]),
    ),
    cpuS: Object.fromEntries(
      Object.entries(used).map(([name, cpuS]) => [name, Math.round(cpuS * 100) / 100]),
    ),
  };
}

/** This process and the ones that started it (npm, its shell): not disturbances. */
function ancestors() {
  const pids = [];
  for (let pid = process.pid; pid > 1;) {
    pids.push(pid);
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return pids;
}

/**
 * Node processes of other Weft work (tests, stacks) that are not this benchmark's: they share
 * the brokers and the two cores, so a run that overlaps one is reported as disturbed.
 */
function otherWeftProcesses(ours) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || ours.has(Number(entry))) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (/apps\/\w+\/dist\/main\.js|\bjest\b|fault-run|bench\/run\.cjs/.test(cmdline))
        found.push(cmdline.trim());
    } catch {
      // gone
    }
  }
  return found;
}

/**
 * Samples once a second until the returned function is called, which answers each process's
 * peak RSS (the highest sample) and descriptors, its mean and peak CPU (100 = one
 * core) and CPU seconds, the CPU of each server (PostgreSQL, RabbitMQ, Kafka, Redis), the
 * machine's CPU and steal, the window's length, and any other Weft process that appeared
 * meanwhile.
 * @param {Record<string, number>} pids the processes to follow, by name
 * @param {number[]} alsoOurs other pids of this benchmark, not to be reported as disturbances
 */
function monitor(pids, alsoOurs = []) {
  const ours = new Set([...ancestors(), ...Object.values(pids), ...alsoOurs]);
  const stats = Object.fromEntries(
    Object.keys(pids).map((name) => [
      name,
      { peakRssMiB: 0, maxOpenFds: 0, cpuPercent: [], first: processSample(pids[name]) },
    ]),
  );
  for (const s of Object.values(stats)) s.last = s.first;
  const machineStart = machineCpu();
  const servers = serverCpuCounter();
  const startedAt = performance.now();
  const disturbances = new Set();
  let lastAt = startedAt;
  const sample = () => {
    const now = performance.now();
    for (const [name, pid] of Object.entries(pids)) {
      const reading = processSample(pid);
      const s = stats[name];
      if (!reading) continue;
      // The load's own peak: the kernel's high-water mark (VmHWM) would carry an earlier,
      // larger load's peak into this one.
      s.peakRssMiB = Math.max(s.peakRssMiB, reading.rssMiB);
      s.maxOpenFds = Math.max(s.maxOpenFds, reading.fds);
      if (s.last) s.cpuPercent.push((100 * (reading.cpuS - s.last.cpuS)) / ((now - lastAt) / 1000));
      s.last = reading;
    }
    servers.read();
    for (const other of otherWeftProcesses(ours)) disturbances.add(other);
    lastAt = now;
  };
  const timer = setInterval(sample, 1_000);
  return () => {
    clearInterval(timer);
    sample();
    const seconds = (performance.now() - startedAt) / 1000;
    const machineEnd = machineCpu();
    const serversUsed = serverCpuPercent(servers.used, seconds);
    return {
      seconds: Math.round(seconds * 100) / 100,
      processes: Object.fromEntries(
        Object.entries(stats).map(([name, s]) => [
          name,
          {
            peakRssMiB: Math.round(s.peakRssMiB),
            maxOpenFds: s.maxOpenFds,
            cpuPercentMean:
              s.first && s.last ? Math.round((100 * (s.last.cpuS - s.first.cpuS)) / seconds) : 0,
            cpuPercentMax: Math.round(Math.max(0, ...s.cpuPercent)),
            cpuS: s.first && s.last ? Math.round((s.last.cpuS - s.first.cpuS) * 100) / 100 : 0,
          },
        ]),
      ),
      serversCpuPercent: serversUsed.percent,
      serversCpuS: serversUsed.cpuS,
      machineCpuBusyPercent: Math.round(
        (100 * (machineEnd.busy - machineStart.busy)) / (machineEnd.total - machineStart.total),
      ),
      stealPercent: stealPercent(machineStart, machineEnd),
      disturbedBy: [...disturbances],
    };
  };
}

/** The kernel's TCP counters that show dropped or refused connections (machine-wide). */
function tcpCounters() {
  const read = (file, prefix) => {
    const lines = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(prefix));
    const names = lines[0].split(/\s+/).slice(1);
    const values = lines[1].split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(names.map((name, i) => [name, values[i]]));
  };
  const ext = read('/proc/net/netstat', 'TcpExt:');
  const tcp = read('/proc/net/snmp', 'Tcp:');
  return {
    ListenOverflows: ext.ListenOverflows,
    ListenDrops: ext.ListenDrops,
    TCPAbortOnData: ext.TCPAbortOnData,
    OutRsts: tcp.OutRsts,
    EstabResets: tcp.EstabResets,
  };
}

/** The change of every counter between two tcpCounters() readings. */
const tcpDelta = (before, after) =>
  Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));

/** What a command prints of its version, or undefined when it is not there. */
function versionOf(command, args) {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')[0];
  } catch {
    return undefined;
  }
}

/**
 * The runs of workflow $1 not finished yet (`n`), from the engine's database: by its tenant's
 * status index, which visits only the tenant's open runs (and the dead index entries a vacuum
 * has not removed yet). By workflow, no index serves it: a scan of every run, once a second
 * through a load, counted in the stack's CPU.
 */
const OPEN_RUNS_OF_WORKFLOW = `SELECT (count(*) FILTER (WHERE workflow_id = $1))::int AS n
   FROM workflow.runs
  WHERE tenant_id = (SELECT tenant_id FROM workflow.workflows WHERE id = $1)
    AND status IN ('queued', 'running')`;

/** The machine and the versions of everything the figures depend on. */
function machineInfo() {
  const kafka = /KAFKA_VERSION=(\S+)/.exec(
    fs.readFileSync(require.resolve('../../tools/infra/kafka.sh'), 'utf8'),
  );
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    postgres: versionOf('psql', ['--version']),
    redis: versionOf('redis-server', ['--version']),
    rabbitmq: versionOf('rabbitmqctl', ['-q', 'version']),
    kafka: kafka ? `${kafka[1]} (KRaft, single broker)` : undefined,
    // The event log's client (libs/messaging/src/event-log.ts): the services inherit this env.
    kafkaClient: process.env.WEFT_KAFKA_CLIENT ?? 'kafkajs',
    somaxconn: Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8')),
  };
}

/** p-th percentiles (0..1) of a list of numbers. */
function percentiles(values, ps = [0.5, 0.95, 0.99]) {
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return {
    count: sorted.length,
    ...Object.fromEntries(ps.map((p) => [`p${Math.round(p * 100)}`, Math.round(at(p))])),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

/**
 * Least-squares slope of y over x (`points` of `{ x, y }`): 0 with fewer than three points or
 * no spread in x.
 */
function leastSquaresSlope(points) {
  const n = points.length;
  if (n < 3) return 0;
  let mx = 0;
  let my = 0;
  for (const p of points) {
    mx += p.x;
    my += p.y;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

module.exports = {
  OPEN_RUNS_OF_WORKFLOW,
  leastSquaresSlope,
  machineCpu,
  machineInfo,
  monitor,
  percentiles,
  processSample,
  stealPercent,
  tcpCounters,
  tcpDelta,
};
