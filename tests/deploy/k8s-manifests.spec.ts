import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IConfigMap, IContainer, IProbe, ISecret, IService } from 'kubernetes-models/v1';
import {
  allVariables,
  parseConfig,
  readText,
  requiredVariables,
  root,
  serviceNames,
  services,
  type ServiceName,
} from './support';

/**
 * deploy/k8s, checked without a cluster: every object against the Kubernetes API schemas
 * (kubernetes-models), and each service's objects against the service itself.
 */

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Loaded {
  file: string;
  object: K8sObject;
}

const dir = 'deploy/k8s';
const files = readdirSync(join(root, dir))
  .filter((file) => /\.ya?ml$/.test(file))
  .sort();

function load(file: string): Loaded[] {
  const parsed = parseAllDocuments(readText(`${dir}/${file}`));
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    const object = document.toJS() as K8sObject | null;
    return object === null ? [] : [{ file, object }];
  });
}
const loaded = files.flatMap(load);

type Result = { ok: true } | { ok: false; error: string };
/** Runs validate-k8s.mjs (see there why in a child process) on `objects`. */
function validate(objects: unknown[]): Result[] {
  const child = spawnSync(process.execPath, [join(__dirname, 'validate-k8s.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    cwd: root,
  });
  if (child.status !== 0) throw new Error(`validate-k8s.mjs failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as Result[];
}

function only<T>(kind: string, app: ServiceName): T {
  const matches = loaded.filter((l) => l.file === `${app}.yaml` && l.object.kind === kind);
  if (matches.length !== 1) throw new Error(`${app}.yaml has ${matches.length} ${kind}`);
  return matches[0]!.object as T;
}

const configMap = loaded.find((l) => l.object.kind === 'ConfigMap')?.object as IConfigMap;
const secret = loaded.find((l) => l.object.kind === 'Secret')?.object as ISecret;

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function sleepSeconds(container: IContainer): number {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1]) : 0;
}

describe('deploy/k8s', () => {
  it('holds the namespace, the shared configuration and one file per service', () => {
    expect(files).toEqual(
      ['config.yaml', 'namespace.yaml', ...serviceNames.map((app) => `${app}.yaml`)].sort(),
    );
  });

  it('passes the Kubernetes API schemas, object by object', () => {
    const results = validate(loaded.map((l) => l.object));
    const failures = results.flatMap((result, index) =>
      result.ok ? [] : [`${loaded[index]!.file} ${loaded[index]!.object.kind}: ${result.error}`],
    );
    expect(failures).toEqual([]);
    expect(results).toHaveLength(loaded.length);
  });

  it('has a validation that can fail: wrong types, missing fields and unknown kinds', () => {
    const deployment = only<IDeployment>('Deployment', 'gateway');
    const wrongType = { ...deployment, spec: { ...deployment.spec, replicas: '2' } };
    // JSON (the way objects reach the validator) drops the undefined selector.
    const noSelector = { ...deployment, spec: { ...deployment.spec, selector: undefined } };
    const unknownKind = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } };
    const [first, second, third] = validate([wrongType, noSelector, unknownKind]);
    expect(first).toEqual({
      ok: false,
      error: expect.stringContaining('replicas must be integer'),
    });
    expect(second).toEqual({ ok: false, error: expect.stringContaining('selector') });
    expect(third).toEqual({ ok: false, error: 'unknown kind apps/v1 StatefulSet' });
  });

  it('puts every object in the weft namespace', () => {
    const namespace = loaded.filter((l) => l.object.kind === 'Namespace');
    expect(namespace.map((l) => l.object.metadata.name)).toEqual(['weft']);
    const misplaced = loaded
      .filter((l) => l.object.kind !== 'Namespace' && l.object.metadata.namespace !== 'weft')
      .map((l) => `${l.file} ${l.object.kind}`);
    expect(misplaced).toEqual([]);
  });

  it('sets only variables that some service reads', () => {
    const known = allVariables();
    const names = [
      ...Object.keys(configMap.data ?? {}),
      ...Object.keys(secret.stringData ?? {}),
      ...Object.keys(secret.data ?? {}),
      ...serviceNames.flatMap((app) =>
        (only<IDeployment>('Deployment', app).spec?.template.spec?.containers ?? []).flatMap(
          (container) => (container.env ?? []).map((variable) => variable.name),
        ),
      ),
    ];
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });

  it('ships the Secret as a template that cannot run unedited with a known admin key', () => {
    expect(secret.metadata?.name).toBe('weft-secrets');
    expect(secret.metadata?.labels?.['weft.dev/template']).toBe('true');
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(
      ['DATABASE_URL', 'RABBITMQ_URL', 'REDIS_URL', 'WEFT_ADMIN_KEY', 'WEFT_SECRET_KEY'].sort(),
    );
    for (const value of Object.values(secret.stringData ?? {}))
      expect(value).toContain('CHANGE-ME');
    const unedited = { ...stringMap(configMap.data), ...stringMap(secret.stringData) };
    const gateway = parseConfig('gateway', unedited);
    expect(gateway.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['WEFT_ADMIN_KEY']);
    // Nor can the workers run with a placeholder key ring.
    const integration = parseConfig('integration', unedited);
    expect(integration.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'WEFT_SECRET_KEY',
    ]);
  });

  describe.each(serviceNames)('%s', (app) => {
    const { defaultPort } = services[app];
    const deployment = only<IDeployment>('Deployment', app);
    const service = only<IService>('Service', app);
    const hpa = only<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', app);
    const pdb = only<IPodDisruptionBudget>('PodDisruptionBudget', app);
    const pod = deployment.spec!.template;
    const podLabels = pod.metadata?.labels ?? {};
    const containers = pod.spec?.containers ?? [];
    const container = containers[0]!;
    const httpPort = container.ports?.find((port) => port.name === 'http');

    /** A probe's or Service's target port, resolved to the container port number. */
    const resolve = (port: number | string | undefined) =>
      typeof port === 'string'
        ? container.ports?.find((p) => p.name === port)?.containerPort
        : port;

    it('has exactly one Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget', () => {
      const kinds = loaded.filter((l) => l.file === `${app}.yaml`).map((l) => l.object.kind);
      expect(kinds.sort()).toEqual(
        ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service'].sort(),
      );
      for (const object of [deployment, service, hpa, pdb]) expect(object.metadata?.name).toBe(app);
    });

    it('selects its own pods, and no other service’s, everywhere', () => {
      const selector = deployment.spec!.selector.matchLabels;
      expect(matches(selector, podLabels)).toBe(true);
      expect(service.spec?.selector).toEqual(selector);
      expect(pdb.spec?.selector?.matchLabels).toEqual(selector);
      for (const spread of pod.spec?.topologySpreadConstraints ?? []) {
        expect(spread.labelSelector?.matchLabels).toEqual(selector);
      }
      for (const other of serviceNames.filter((name) => name !== app)) {
        const otherLabels =
          only<IDeployment>('Deployment', other).spec!.template.metadata?.labels ?? {};
        expect({ other, selects: matches(selector, otherLabels) }).toEqual({
          other,
          selects: false,
        });
      }
    });

    it('scales the Deployment on CPU between 2 and 10 replicas, slowly down', () => {
      expect(hpa.spec?.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment.metadata?.name,
      });
      expect(hpa.spec?.minReplicas).toBe(2);
      expect(hpa.spec?.maxReplicas).toBe(10);
      expect(hpa.spec?.metrics).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ]);
      expect(hpa.spec?.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(300);
      // The autoscaler owns the replica count; a fixed one would be reset on each apply.
      expect(deployment.spec?.replicas).toBeUndefined();
      expect(pdb.spec?.minAvailable).toBe(1);
    });

    it('rolls out one new pod at a time without losing capacity', () => {
      expect(deployment.spec?.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
    });

    it('runs one container on the app’s default port, named http, behind a ClusterIP Service', () => {
      expect(containers).toHaveLength(1);
      expect(container.image).toMatch(new RegExp(`(^|/)${app}:`));
      expect(httpPort?.containerPort).toBe(defaultPort);
      expect(service.spec?.type).toBe('ClusterIP');
      expect(service.spec?.ports).toHaveLength(1);
      expect(service.spec?.ports?.[0]?.name).toBe('http');
      expect(resolve(service.spec?.ports?.[0]?.targetPort)).toBe(defaultPort);
    });

    it('probes liveness on /health, readiness on /ready, start-up on the container port', () => {
      const probes: [string, IProbe | undefined][] = [
        ['liveness', container.livenessProbe],
        ['readiness', container.readinessProbe],
        ['startup', container.startupProbe],
      ];
      const paths = Object.fromEntries(probes.map(([name, probe]) => [name, probe?.httpGet?.path]));
      expect(paths).toEqual({ liveness: '/health', readiness: '/ready', startup: '/health' });
      for (const [name, probe] of probes) {
        expect({ name, port: resolve(probe?.httpGet?.port) }).toEqual({ name, port: defaultPort });
      }
    });

    it('runs unprivileged with a read-only root filesystem', () => {
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        // The `node` user of the node:24 images, which apps/*/Dockerfile switch to.
        runAsUser: 1000,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
    });

    it('requests and limits CPU and memory', () => {
      expect(container.resources?.requests).toEqual({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      // Room for the capped heap (SERVICE_NODE_FLAGS: 256 MiB, the gateway 512) and what lives
      // outside it; the gateway also holds its clients' sockets (602 MiB at 10,000 connections).
      expect(container.resources?.limits).toEqual({
        cpu: expect.any(String),
        memory: app === 'gateway' ? '1Gi' : '384Mi',
      });
    });

    const env = Object.fromEntries(
      (container.env ?? []).map((variable) => [variable.name, variable.value ?? '']),
    );
    const fromConfigMap = container.envFrom?.some(
      (source) => source.configMapRef?.name === configMap.metadata?.name,
    );
    const fromSecret = container.envFrom?.some(
      (source) => source.secretRef?.name === secret.metadata?.name,
    );
    /** The container's environment, with the Secret filled in as an operator would. */
    const environment = {
      ...(fromSecret
        ? {
            ...stringMap(secret.stringData),
            WEFT_ADMIN_KEY: 'k'.repeat(32),
            WEFT_SECRET_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
          }
        : {}),
      ...(fromConfigMap ? stringMap(configMap.data) : {}),
      ...env,
    };

    it('listens on all interfaces and reads the shared ConfigMap and Secret', () => {
      expect(env['HOST']).toBe('0.0.0.0');
      expect(env['PORT']).toBe(String(defaultPort));
      expect(fromConfigMap).toBe(true);
      expect(fromSecret).toBe(true);
    });

    it('gets every variable the service requires, each one valid', () => {
      expect(requiredVariables(app).filter((name) => !(name in environment))).toEqual([]);
      expect(parseConfig(app, environment).error?.issues ?? []).toEqual([]);
    });

    it('gives a terminating pod longer than its preStop pause plus its drain', () => {
      const config = parseConfig(app, environment).data as { SHUTDOWN_TIMEOUT_MS: number };
      const needed = sleepSeconds(container) + config.SHUTDOWN_TIMEOUT_MS / 1000;
      expect(pod.spec?.terminationGracePeriodSeconds).toBeGreaterThan(needed);
    });
  });
});

function stringMap(data: Record<string, string> | undefined): Record<string, string> {
  return { ...data };
}
