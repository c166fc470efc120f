import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  readJson,
  readText,
  root,
  serviceNames,
  transitiveDependencies,
  workspaceDirs,
} from './support';

/**
 * .github/workflows: each service's workflow runs when the service or any library it depends
 * on changes. The dependencies are computed here, so the path filters cannot silently drift.
 */

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on'?: string;
  services?: Record<string, { image?: string }>;
  steps?: Step[];
}
interface Workflow {
  on: Record<'push' | 'pull_request', { paths?: string[]; tags?: string[] } | undefined>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job & { strategy?: { matrix?: Record<string, string[]> } }>;
}

/** The CI service image of each server, and how a test shows that it talks to that server. */
const servers = {
  'postgres:15': /WEFT_PG_SERVER_URL|DATABASE_URL|createDataSource|from 'pg'/,
  'redis:7': /REDIS_URL|ioredis/,
  'rabbitmq:3.13': /RABBITMQ_URL|AmqpBroker|amqplib/,
  'apache/kafka:3.9.1': /KAFKA_BROKERS|KafkaEventLog|kafkajs/,
};

/** The test files of a project: its unit specs and its integration tests. */
function testFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.spec\.ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !/[/\\](dist|node_modules)[/\\]/.test(file));
}

/** The servers `dir`'s tests connect to, by their CI service image. */
function serversNeeded(dir: string): string[] {
  const sources = testFiles(dir).map((file) => readFileSync(file, 'utf8'));
  return Object.entries(servers)
    .filter(([, marker]) => sources.some((source) => marker.test(source)))
    .map(([image]) => image);
}

function workflow(name: string): Workflow {
  return parse(readText(`.github/workflows/${name}.yml`)) as Workflow;
}

const libs = workspaceDirs().filter((dir) => dir.startsWith('libs/'));

function triggers(file: string): Workflow['on'] {
  const { on } = workflow(file);
  expect(Object.keys(on).sort()).toEqual(['pull_request', 'push']);
  return on;
}

function steps(file: string): Step[] {
  return Object.values(workflow(file).jobs).flatMap((job) => job.steps ?? []);
}

describe('.github/workflows', () => {
  it('has one workflow per service and one for the libraries', () => {
    const files = readdirSync(join(root, '.github/workflows')).sort();
    expect(files).toEqual([...serviceNames, 'libs', 'release'].map((name) => `${name}.yml`).sort());
  });

  it.each(['push', 'pull_request'] as const)(
    'runs the gateway’s on %s to the web console, which its image builds and serves',
    (event) => {
      expect(triggers('gateway')[event]?.paths).toContain('apps/console/**');
      expect(readText('apps/gateway/Dockerfile')).toContain('COPY apps/console/ apps/console/');
    },
  );

  describe.each(serviceNames)('%s.yml', (app) => {
    const dependencies = [...transitiveDependencies(`apps/${app}`)];
    const project = readJson<{ name: string; targets: Record<string, unknown> }>(
      `apps/${app}/project.json`,
    );

    it('depends on libraries only (the computation itself is sane)', () => {
      expect(dependencies.length).toBeGreaterThan(0);
      expect(dependencies.filter((dir) => !dir.startsWith('libs/'))).toEqual([]);
    });

    it.each(['push', 'pull_request'] as const)(
      'runs on %s to the app, exactly the libraries it depends on, and itself',
      (event) => {
        const paths = triggers(app)[event]?.paths ?? [];
        expect(paths).toContain(`apps/${app}/**`);
        expect(paths).toContain(`.github/workflows/${app}.yml`);
        for (const file of ['package.json', 'package-lock.json', 'tsconfig*.json']) {
          expect(paths).toContain(file);
        }
        const libPaths = paths.filter((path) => path.startsWith('libs/')).sort();
        expect(libPaths).toEqual(dependencies.map((dir) => `${dir}/**`).sort());
      },
    );

    it('lints, tests and builds the app through its Nx targets', () => {
      const runs = steps(app).flatMap((step) => (step.run ? [step.run] : []));
      for (const target of ['lint', 'test', 'build']) {
        expect(project.targets).toHaveProperty(target);
        expect(runs).toContain(`npx nx run ${project.name}:${target}`);
      }
      expect(runs).toContain('npm ci --no-audit --no-fund');
      const setupNode = steps(app).find((step) => step.uses?.startsWith('actions/setup-node@'));
      expect(setupNode?.with?.['node-version-file']).toBe('.nvmrc');
    });

    it('tests against PostgreSQL 15, Redis 7 and RabbitMQ 3.13', () => {
      const images = Object.values(workflow(app).jobs).flatMap((job) =>
        Object.values(job.services ?? {}).map((service) => service.image),
      );
      expect(images).toEqual(expect.arrayContaining(['postgres:15', 'redis:7', 'rabbitmq:3.13']));
    });

    it('starts every server its tests connect to, in the job that runs them', () => {
      const job = Object.values(workflow(app).jobs).find((j) =>
        (j.steps ?? []).some((step) => step.run === `npx nx run ${project.name}:test`),
      );
      const images = Object.values(job?.services ?? {}).map((service) => service.image);
      const needed = serversNeeded(`apps/${app}`);
      expect(needed.length).toBeGreaterThan(0);
      expect(needed.filter((image) => !images.includes(image))).toEqual([]);
    });

    it('builds the app’s image from its Dockerfile without pushing it', () => {
      const build = steps(app).find((step) => step.uses?.startsWith('docker/build-push-action@'));
      expect(build?.with).toMatchObject({
        context: '.',
        file: `apps/${app}/Dockerfile`,
        push: false,
      });
      expect(existsSync(join(root, `apps/${app}/Dockerfile`))).toBe(true);
    });
  });

  describe('release.yml', () => {
    const release = workflow('release');
    const dockerfiles = [...serviceNames, 'standalone'].filter((app) =>
      existsSync(join(root, `apps/${app}/Dockerfile`)),
    );

    it('runs on version tags only, allowed to push packages', () => {
      expect(Object.keys(release.on)).toEqual(['push']);
      expect(release.on.push).toEqual({ tags: ['v*'] });
      expect(release.permissions).toEqual({ contents: 'read', packages: 'write' });
    });

    it('builds and pushes every image to ghcr.io/<owner>/weft-<app>', () => {
      const [job] = Object.values(release.jobs);
      expect(job?.strategy?.matrix?.['app']?.slice().sort()).toEqual(dockerfiles.sort());
      const meta = job?.steps?.find((step) => step.uses?.startsWith('docker/metadata-action@'));
      expect(meta?.with?.['images']).toBe(
        'ghcr.io/${{ github.repository_owner }}/weft-${{ matrix.app }}',
      );
      const login = job?.steps?.find((step) => step.uses?.startsWith('docker/login-action@'));
      expect(login?.with?.['registry']).toBe('ghcr.io');
      const build = job?.steps?.find((step) => step.uses?.startsWith('docker/build-push-action@'));
      expect(build?.with).toMatchObject({
        context: '.',
        file: 'apps/${{ matrix.app }}/Dockerfile',
        push: true,
        tags: '${{ steps.meta.outputs.tags }}',
      });
    });

    it('pushes the images the Kubernetes manifests are pointed at', () => {
      const kustomization = parse(readText('deploy/k8s/kustomization.yaml')) as {
        images: { name: string; newName: string }[];
      };
      for (const image of kustomization.images) {
        const app = image.name.replace(/^weft\//, '');
        expect(dockerfiles).toContain(app);
        expect(image.newName).toMatch(new RegExp(`^ghcr\\.io/[^/]+/weft-${app}$`));
      }
    });
  });

  describe('libs.yml', () => {
    it.each(['push', 'pull_request'] as const)('runs on %s to any library', (event) => {
      const paths = triggers('libs')[event]?.paths ?? [];
      expect(paths).toContain('libs/**');
      expect(paths).toContain('.github/workflows/libs.yml');
    });

    it('lints, tests and builds every library', () => {
      const runs = steps('libs').flatMap((step) => (step.run ? [step.run] : []));
      for (const target of ['lint', 'test', 'build']) {
        const run = runs.find((command) => command.includes(`-t ${target} `));
        const projects = /--projects=(\S+)/.exec(run ?? '')?.[1]?.split(',') ?? [];
        expect({ target, projects: projects.sort() }).toEqual({
          target,
          projects: libs
            .map((dir) => readJson<{ name: string }>(`${dir}/project.json`).name)
            .sort(),
        });
      }
      expect(libs.length).toBeGreaterThan(0);
    });
  });
});
