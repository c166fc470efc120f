import type { ChildProcess } from 'node:child_process';
import type { Client } from 'pg';

export declare const SERVICES: readonly ['workflow', 'integration', 'ai', 'gateway'];
export type App = (typeof SERVICES)[number];
/** A service's process: `workflow`, or a replica such as `workflow#2`. */
export type Service = App | `${App}#${number}`;
/** Node flags of each service process, as its image's CMD runs them. */
export declare const SERVICE_NODE_FLAGS: Readonly<Record<App, readonly string[]>>;

export interface StartOptions {
  /** How long to wait for `/ready`; the stack's `timeoutMs` by default. */
  timeoutMs?: number;
}

export interface Stack<S extends string = Service> {
  adminKey: string;
  services: readonly S[];
  ports: Record<S, number>;
  /** The current process of each service; `start` after a kill replaces it. */
  children: Record<S, ChildProcess>;
  gatewayUrl: string;
  isRunning(service: S): boolean;
  /** Whether the service's own process answers /ready (a gateway replica shares the port). */
  ready(service: S): Promise<boolean>;
  /** Signals the service (SIGKILL by default); resolves with its exit code or signal name. */
  kill(service: S, signal?: NodeJS.Signals): Promise<number | string | null>;
  /** Starts the service on its port and environment unless it runs; resolves once ready. */
  start(service: S, options?: StartOptions): Promise<void>;
  /** `kill(service, signal)` (SIGTERM by default), then `start(service)`. */
  restart(service: S, signal?: NodeJS.Signals, options?: StartOptions): Promise<void>;
  /** Scale out: starts `app#n` (the next free n) and resolves with its name once ready. */
  add(app: App): Promise<S>;
  /** Scale in: SIGTERM to the process, which is then forgotten; resolves with its exit code. */
  remove(service: S): Promise<number | string | null>;
  /** SIGTERM to every running service; each one's exit code (or signal, or the last one's). */
  stop(): Promise<Record<S, number | string>>;
}

/** How the processes are launched and watched, for the stack and for standalone mode alike. */
export interface LaunchOptions<S extends string> {
  basePort?: number;
  adminKey?: string;
  env?: Record<string, string>;
  onOutput?: (service: S, line: string) => void;
  /** Every exit of a service's process; `asked` when kill/restart/stop caused it. */
  onExit?: (service: S, code: number | null, signal: NodeJS.Signals | null, asked: boolean) => void;
  /** Start a service again, after a back-off, when its process exits unasked. */
  restartOnExit?: boolean;
  timeoutMs?: number;
}

export declare function startStack(
  options?: LaunchOptions<Service> & {
    database?: string;
    secretKey?: string;
    /**
     * Processes of every service (a number) or of some (default 1); the extra ones are
     * `workflow#2`, `gateway#2`…; gateways share the port (SO_REUSEPORT).
     */
    replicas?: number | Partial<Record<App, number>>;
    /** Pooled connections through the machine's PgBouncer (port 6432), migrations direct. */
    pgbouncer?: boolean;
    /** Run lists from the machine's streaming replica (port 5433, `infra.sh up --replica`). */
    readReplica?: boolean;
  },
): Promise<Stack>;

/** Standalone mode as a one-service stack (`standalone`), its data kept in `dataDir`. */
export declare function startStandalone(
  options: LaunchOptions<'standalone'> & { dataDir: string },
): Promise<Stack<'standalone'>>;

/** Whether process `pid` has a listening TCP socket on `port` (Linux /proc). */
export declare function listensOn(pid: number, port: number): boolean;

/** Drops a stack's database on the machine's PostgreSQL (`WEFT_PG_SERVER_URL`). */
export declare function dropDatabase(name: string): Promise<unknown>;
/** Runs `work` with a client of the machine's PostgreSQL server (its `postgres` database). */
export declare function withServer<T>(work: (client: Client) => Promise<T>): Promise<T>;

/** Queues named `prefix…` with consumers on this machine's RabbitMQ, as "name (n consumers)". */
export declare function queuesWithConsumers(prefix: string): string[];
