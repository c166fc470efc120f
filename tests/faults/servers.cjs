// Stops and starts the machine's servers for the fault suite: RabbitMQ, the Kafka broker of
// tools/infra and PostgreSQL. A stopped server is always started again with
// `tools/infra/infra.sh up`, the same command `npm test` uses, which starts whatever is down.
'use strict';
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const infra = path.join(root, 'tools/infra/infra.sh');
const PORTS = { rabbitmq: 5672, kafka: 9092, postgres: 5432 };
const SERVERS = /** @type {const} */ (['rabbitmq', 'kafka', 'postgres']);

/** @returns {Promise<string>} */
const run = (file, args, timeoutMs = 120_000) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, cwd: root }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}${stderr}`));
      } else {
        resolve(`${stdout}${stderr}`);
      }
    });
  });

const portOpen = (port) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

async function waitPortClosed(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (await portOpen(port)) {
    if (Date.now() > deadline) throw new Error(`127.0.0.1:${port} still open after stopping`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const postgresCluster = () => fs.readdirSync('/etc/postgresql')[0];

/** How each server is stopped; `startServers` brings it back. */
const stoppers = {
  rabbitmq: () => run('rabbitmqctl', ['stop']),
  // The Kafka broker infra.sh runs (SIGTERM, controlled shutdown), and nothing else.
  kafka: () => run(infra, ['down', 'kafka']),
  postgres: () =>
    run('pg_ctlcluster', ['--skip-systemctl-redirect', postgresCluster(), 'main', 'stop']),
};

/**
 * Stops one server and waits until its port is closed.
 * @param {'rabbitmq' | 'kafka' | 'postgres'} server
 */
async function stopServer(server) {
  await stoppers[server]();
  await waitPortClosed(PORTS[server], 60_000);
}

/** Starts every server that is down (PostgreSQL, Redis, RabbitMQ, Kafka) and waits for them. */
async function startServers() {
  return run(infra, ['up'], 300_000);
}

module.exports = { SERVERS, stopServer, startServers, portOpen };
