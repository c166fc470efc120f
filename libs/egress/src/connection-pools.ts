import type { LookupAddress } from 'node:dns';
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface ConnectionPoolLimits {
  /** Connections one pool holds at most; more requests to it wait for a free one. 64 by default. */
  maxSockets?: number;
  /**
   * How long a connection may sit unused in its pool before it is closed; 4 s by default, under
   * the 5 s after which Node servers (and many others) close an idle connection themselves. A
   * server's `Keep-Alive: timeout=…` shortens it.
   */
  idleMs?: number;
  /** Pools kept at most; beyond it the least recently used one is closed. 1,000 by default. */
  maxPools?: number;
}

const DEFAULTS: Required<ConnectionPoolLimits> = { maxSockets: 64, idleMs: 4_000, maxPools: 1_000 };

/**
 * Keep-alive connections of outbound HTTP(S), one pool (a Node `Agent`) per protocol, host,
 * port and set of addresses the SSRF guard checked. A pool's agent resolves the host with the
 * pinned lookup of exactly those addresses, so no connection of it can ever be opened anywhere
 * else; once DNS answers differently the guard's new answer names another pool, and the old one
 * idles out. For https the agent's own naming keeps connections of different TLS identities
 * (server name, from the host or a `Host` header) apart.
 *
 * Pools whose last connection closed are dropped; past `maxPools` the least recently used pool
 * is closed (its requests in flight finish first). Idle connections are unref'd: they never
 * keep a process alive. One agent for all (Node's naming is host:port) would hand a request a
 * connection opened to addresses an earlier check admitted, not its own.
 */
export class ConnectionPools {
  /** In order of last use, the least recent first. */
  private readonly pools = new Map<string, HttpAgent>();
  private readonly limits: Required<ConnectionPoolLimits>;

  constructor(limits: ConnectionPoolLimits = {}) {
    this.limits = { ...DEFAULTS, ...limits };
  }

  /**
   * The agent of connections to `host`:`port` over `protocol` pinned to `addresses`, as
   * `EgressGuard.admit` answered them for this request.
   */
  agentFor(
    protocol: 'http:' | 'https:',
    host: string,
    port: number,
    addresses: readonly LookupAddress[],
  ): HttpAgent {
    const key = JSON.stringify([
      protocol,
      host,
      port,
      [...new Set(addresses.map((a) => `${a.family}/${a.address}`))].sort(),
    ]);
    const pooled = this.pools.get(key);
    if (pooled) {
      this.pools.delete(key);
      this.pools.set(key, pooled);
      return pooled;
    }
    const agent = this.open(protocol, addresses, key);
    this.pools.set(key, agent);
    for (const [oldKey, oldest] of this.pools) {
      if (this.pools.size <= this.limits.maxPools) break;
      this.pools.delete(oldKey);
      retire(oldest);
    }
    return agent;
  }

  /** Pools currently kept. */
  get size(): number {
    return this.pools.size;
  }

  /**
   * Closes every connection, in flight or idle, and forgets every pool (for shutdown, once
   * nothing is sent any more, and tests). The pools can still be used: later requests open new
   * connections.
   */
  close(): void {
    for (const agent of this.pools.values()) agent.destroy();
    this.pools.clear();
  }

  private open(
    protocol: 'http:' | 'https:',
    addresses: readonly LookupAddress[],
    key: string,
  ): HttpAgent {
    const options: AgentOptions = {
      keepAlive: true,
      maxSockets: this.limits.maxSockets,
      maxFreeSockets: this.limits.maxSockets,
      // The timeout of sockets: Node's agent closes a *free* socket when it fires; on a socket in
      // use it only emits 'timeout', which nothing here listens to (the caller's signal bounds a
      // request).
      timeout: this.limits.idleMs,
      // The most recently used first, so the others idle out when traffic drops.
      scheduling: 'lifo',
      // Every socket of this pool connects to the checked addresses, never asking DNS again.
      lookup: pinnedLookup(addresses),
    };
    const agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    // Node's agent calls createConnection for each new socket (overriding it is its documented
    // extension point): once a socket closes, see whether the pool is empty and drop it.
    const createConnection = agent.createConnection.bind(agent);
    agent.createConnection = (connect, callback) => {
      const socket = createConnection(connect, callback);
      // The agent forgets the socket in its own 'close' listener, added after this returns.
      socket?.once('close', () => process.nextTick(() => this.dropIfUnused(key, agent)));
      return socket;
    };
    return agent;
  }

  private dropIfUnused(key: string, agent: HttpAgent): void {
    if (!unused(agent)) return;
    if (this.pools.get(key) === agent) this.pools.delete(key);
    agent.destroy();
  }
}

/** No socket in use or free, and no request waiting for one. */
function unused(agent: HttpAgent): boolean {
  const groups: NodeJS.ReadOnlyDict<readonly unknown[]>[] = [
    agent.sockets,
    agent.freeSockets,
    agent.requests,
  ];
  return groups.every((group) => Object.values(group).every((list) => !list?.length));
}

/**
 * Closes a pool nobody can reach any more: at once if unused; otherwise its idle connections now
 * and the others as their requests end (`keepSocketAlive` is the agent's documented hook for
 * that), so a live request is never cut off by an unrelated pool's eviction.
 */
function retire(agent: HttpAgent): void {
  if (unused(agent)) {
    agent.destroy();
    return;
  }
  agent.keepSocketAlive = () => false;
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) socket.destroy();
  }
}

/** Answers a socket's lookup with the addresses the guard checked, never asking DNS again. */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const usable = family ? addresses.filter((a) => a.family === family) : [...addresses];
    const [first] = usable;
    if (!first) {
      const error: NodeJS.ErrnoException = new Error(`no checked IPv${family} address`);
      error.code = 'ENOTFOUND';
      callback(error, '');
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

/** The connections of `sendOutbound` unless its options name others; services close it on shutdown. */
export const sharedConnectionPools = new ConnectionPools();
