import { existsSync, readdirSync } from 'node:fs';
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
  on: Record<'push' | 'pull_request', { paths?: string[] } | undefined>;
  jobs: Record<string, Job>;
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
    expect(files).toEqual([...serviceNames, 'libs'].map((name) => `${name}.yml`).sort());
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
