import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import type {
  IScaledObject,
  ITriggerAuthentication,
} from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IConfigMap, IContainer, IProbe, ISecret, IService } from 'kubernetes-models/v1';
import { ConsumerGroups, EventTopics, TaskQueues } from '@weft/contracts';
import { SERVICE_NODE_FLAGS } from '../../tools/stack.cjs';
import {
  allVariables,
  parseConfig,
  parseEnvFile,
  readText,
  requiredVariables,
  root,
  serviceNames,
  services,
} from './support';

/**
 * deploy/k8s, checked without a cluster: the kustomization and every object it lists or
 * generates against the Kubernetes and KEDA API schemas, and each service's objects against
 * the service itself.
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
const files = readdirSync(join(root, dir)).sort();

/**
 * The part of kustomize's Kustomization (kustomize.config.k8s.io/v1beta1) that Weft uses,
 * strict: a field outside it, misspelt or not, fails rather than being silently ignored.
 */
const generator = z.strictObject({
  name: z.string().min(1),
  type: z.string().optional(),
  envs: z.array(z.string()).optional(),
  files: z.array(z.string()).optional(),
  literals: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/)).optional(),
});
const kustomizationSchema = z.strictObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  namespace: z.string().optional(),
  resources: z.array(z.string()).min(1),
  images: z
    .array(
      z.strictObject({
        name: z.string(),
        newName: z.string().optional(),
        newTag: z.string().optional(),
        digest: z.string().optional(),
      }),
    )
    .optional(),
  configMapGenerator: z.array(generator).optional(),
  secretGenerator: z.array(generator).optional(),
  configurations: z.array(z.string()).optional(),
});
type Kustomization = z.infer<typeof kustomizationSchema>;
const kustomization = parse(readText(`${dir}/kustomization.yaml`)) as Kustomization;

/** The committed stand-in for each env file that must not be committed. */
const SECRET_ENV = 'secrets.env';
const SECRET_ENV_EXAMPLE = 'secrets.env.example';
const committed = (file: string) => (file === SECRET_ENV ? SECRET_ENV_EXAMPLE : file);

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
const loaded = kustomization.resources.flatMap(load);

/** What a generator makes, from the committed env files (the Secret from its example). */
function generated(kind: 'ConfigMap' | 'Secret', spec: z.infer<typeof generator>): K8sObject {
  const data = Object.assign(
    {},
    ...(spec.envs ?? []).map((file) => parseEnvFile(readText(`${dir}/${committed(file)}`))),
  ) as Record<string, string>;
  return {
    apiVersion: 'v1',
    kind,
    metadata: { name: spec.name, namespace: kustomization.namespace ?? 'weft' },
    ...(kind === 'Secret' ? { type: spec.type ?? 'Opaque', stringData: data } : { data }),
  };
}
const generatedObjects = [
  ...(kustomization.configMapGenerator ?? []).map((spec) => generated('ConfigMap', spec)),
  ...(kustomization.secretGenerator ?? []).map((spec) => generated('Secret', spec)),
];
const configMap = generatedObjects.find((o) => o.kind === 'ConfigMap') as IConfigMap;
const secret = generatedObjects.find((o) => o.kind === 'Secret') as ISecret;

const MIB = 1024 * 1024;
/** A Kubernetes memory quantity in Mi or Gi, as deploy/k8s writes them, in MiB. */
function mebibytes(quantity: unknown): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(String(quantity));
  if (!match) throw new Error(`not a quantity in Mi or Gi: ${String(quantity)}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

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

function ofKind<T>(kind: string): T[] {
  return loaded.filter((l) => l.object.kind === kind).map((l) => l.object as T);
}

function only<T>(kind: string, app: string, file = `${app}.yaml`): T {
  const matches = loaded.filter(
    (l) => l.file === file && l.object.kind === kind && l.object.metadata.name === app,
  );
  if (matches.length !== 1) throw new Error(`${file} has ${matches.length} ${kind} ${app}`);
  return matches[0]!.object as T;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

function sleepSeconds(container: IContainer): number {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1]) : 0;
}

function stringMap(data: Record<string, string> | undefined): Record<string, string> {
  return { ...data };
}

/** The Secret filled in as an operator would, with values the services accept. */
const filledSecret = {
  ...stringMap(secret.stringData),
  WEFT_ADMIN_KEY: 'k'.repeat(32),
  WEFT_SECRET_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
};

/** Every container of Weft's own images (the services and the migration Job). */
function weftContainers(): IContainer[] {
  const deployments = ofKind<IDeployment>('Deployment').flatMap(
    (d) => d.spec?.template.spec?.containers ?? [],
  );
  const jobs = ofKind<IJob>('Job').flatMap((j) => j.spec?.template.spec?.containers ?? []);
  return [...deployments, ...jobs].filter((c) => c.image?.startsWith('weft/'));
}

const imageName = (image: string) => image.replace(/[:@].*$/, '');

describe('deploy/k8s/kustomization.yaml', () => {
  it('is a Kustomization with only the fields kustomize knows', () => {
    const result = kustomizationSchema.safeParse(kustomization);
    expect(result.error?.issues ?? []).toEqual([]);
    // The schema can fail: a misspelt field is rejected.
    expect(kustomizationSchema.safeParse({ ...kustomization, resource: [] }).success).toBe(false);
  });

  it('lists every manifest in the folder, and each one exists', () => {
    for (const file of [...kustomization.resources, ...(kustomization.configurations ?? [])]) {
      expect({ file, exists: existsSync(join(root, dir, file)) }).toEqual({ file, exists: true });
    }
    const yamlFiles = files.filter((file) => /\.ya?ml$/.test(file));
    const accounted = new Set([
      'kustomization.yaml',
      ...kustomization.resources,
      ...(kustomization.configurations ?? []),
    ]);
    expect(yamlFiles.filter((file) => !accounted.has(file))).toEqual([]);
  });

  it('generates the ConfigMap from a committed file and the Secret from one git ignores', () => {
    const envFiles = [
      ...(kustomization.configMapGenerator ?? []),
      ...(kustomization.secretGenerator ?? []),
    ].flatMap((spec) => spec.envs ?? []);
    expect(envFiles.sort()).toEqual(['config.env', SECRET_ENV]);
    for (const file of envFiles) {
      expect({ file, exists: existsSync(join(root, dir, committed(file))) }).toEqual({
        file,
        exists: true,
      });
    }
    expect(existsSync(join(root, dir, SECRET_ENV))).toBe(false);
    expect(readText('.gitignore').split('\n')).toContain(`${dir}/${SECRET_ENV}`);
    expect(kustomization.configMapGenerator?.map((spec) => spec.name)).toEqual(['weft-config']);
    expect(kustomization.secretGenerator?.map((spec) => spec.name)).toEqual(['weft-secrets']);
  });

  it('overrides every image the manifests use, and only those', () => {
    const used = new Set(weftContainers().map((c) => imageName(c.image!)));
    const overridden = (kustomization.images ?? []).map((image) => image.name);
    expect(overridden.sort()).toEqual([...used].sort());
    expect([...used].sort()).toEqual(
      [...serviceNames, 'standalone'].map((app) => `weft/${app}`).sort(),
    );
    // One release: every image at the same tag.
    expect(new Set((kustomization.images ?? []).map((image) => image.newTag)).size).toBe(1);
  });

  it('lets the TriggerAuthentication follow the generated Secret’s hashed name', () => {
    const config = parse(readText(`${dir}/kustomizeconfig.yaml`)) as {
      nameReference: { kind: string; fieldSpecs: { kind: string; path: string }[] }[];
    };
    const secretRefs = config.nameReference.find((ref) => ref.kind === 'Secret');
    expect(secretRefs?.fieldSpecs).toContainEqual(
      expect.objectContaining({ kind: 'TriggerAuthentication', path: 'spec/secretTargetRef/name' }),
    );
  });
});

describe('deploy/k8s', () => {
  it('holds the namespace, PgBouncer, the migration Job, KEDA, policies and one file per service', () => {
    expect([...kustomization.resources].sort()).toEqual(
      [
        'namespace.yaml',
        'pgbouncer.yaml',
        'migrate-job.yaml',
        'keda.yaml',
        'network-policies.yaml',
        ...serviceNames.map((app) => `${app}.yaml`),
      ].sort(),
    );
  });

  it('passes the Kubernetes and KEDA API schemas, object by object, generated ones too', () => {
    const all = [...loaded, ...generatedObjects.map((object) => ({ file: 'generated', object }))];
    const results = validate(all.map((l) => l.object));
    const failures = results.flatMap((result, index) =>
      result.ok ? [] : [`${all[index]!.file} ${all[index]!.object.kind}: ${result.error}`],
    );
    expect(failures).toEqual([]);
    expect(results).toHaveLength(all.length);
    expect(new Set(all.map((l) => l.object.kind))).toEqual(
      new Set([
        'Namespace',
        'ConfigMap',
        'Secret',
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'Job',
        'ScaledObject',
        'TriggerAuthentication',
        'NetworkPolicy',
      ]),
    );
  });

  it('has a validation that can fail: wrong types, missing fields and unknown kinds', () => {
    const deployment = only<IDeployment>('Deployment', 'gateway');
    const wrongType = { ...deployment, spec: { ...deployment.spec, replicas: '2' } };
    // JSON (the way objects reach the validator) drops the undefined selector.
    const noSelector = { ...deployment, spec: { ...deployment.spec, selector: undefined } };
    const unknownKind = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } };
    const oldHpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'x' },
    };
    const scaled = only<IScaledObject>('ScaledObject', 'ai');
    const scaledWrong = {
      ...scaled,
      spec: { ...scaled.spec, triggers: [{ type: 'rabbitmq', metadata: { value: 8 } }] },
    };
    const policy = ofKind<INetworkPolicy>('NetworkPolicy')[0]!;
    const policyWrong = { ...policy, spec: { ...policy.spec, podSelector: 'all' } };
    const job = ofKind<IJob>('Job')[0]!;
    const jobWrong = { ...job, spec: { ...job.spec, template: undefined } };
    const results = validate([
      wrongType,
      noSelector,
      unknownKind,
      oldHpa,
      scaledWrong,
      policyWrong,
      jobWrong,
    ]);
    expect(results).toEqual([
      { ok: false, error: expect.stringContaining('replicas must be integer') },
      { ok: false, error: expect.stringContaining('selector') },
      { ok: false, error: 'unknown kind apps/v1 StatefulSet' },
      // KEDA owns the autoscaler now; a hand-written one would fight it.
      { ok: false, error: 'unknown kind autoscaling/v2 HorizontalPodAutoscaler' },
      { ok: false, error: expect.stringContaining('metadata/value must be string') },
      { ok: false, error: expect.stringContaining('podSelector') },
      { ok: false, error: expect.stringContaining('template') },
    ]);
  });

  it('puts every object in the weft namespace', () => {
    expect(kustomization.namespace).toBe('weft');
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
      ...weftContainers().flatMap((container) => (container.env ?? []).map((v) => v.name)),
    ];
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });

  it('has a complete Secret recipe that cannot run unedited with a known key', () => {
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(
      [
        'DATABASE_DIRECT_URL',
        'DATABASE_URL',
        'RABBITMQ_URL',
        'REDIS_URL',
        'WEFT_ADMIN_KEY',
        'WEFT_SECRET_KEY',
      ].sort(),
    );
    for (const value of Object.values(secret.stringData ?? {}))
      expect(value).toContain('CHANGE-ME');
    // Every variable a service requires comes from the ConfigMap, the Secret or the Deployment.
    const provided = new Set([
      ...Object.keys(configMap.data ?? {}),
      ...Object.keys(secret.stringData ?? {}),
    ]);
    for (const app of serviceNames) {
      const missing = requiredVariables(app).filter((name) => !provided.has(name));
      expect({ app, missing }).toEqual({ app, missing: [] });
    }
    const unedited = { ...stringMap(configMap.data), ...stringMap(secret.stringData) };
    const gateway = parseConfig('gateway', unedited);
    expect(gateway.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['WEFT_ADMIN_KEY']);
    // Nor can the workers run with a placeholder key ring.
    for (const worker of ['integration', 'ai'] as const) {
      const parsed = parseConfig(worker, unedited);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
        'WEFT_SECRET_KEY',
      ]);
    }
  });

  describe('PgBouncer', () => {
    const deployment = only<IDeployment>('Deployment', 'pgbouncer', 'pgbouncer.yaml');
    const service = only<IService>('Service', 'pgbouncer', 'pgbouncer.yaml');
    const container = deployment.spec!.template.spec!.containers[0]!;
    const env = Object.fromEntries((container.env ?? []).map((v) => [v.name, v]));
    const port = container.ports?.find((p) => p.name === 'postgres')?.containerPort;

    it('pools in transaction mode, version 1.21 or later (prepared statements)', () => {
      expect(env['POOL_MODE']?.value).toBe('transaction');
      const version = /:v?(\d+)\.(\d+)/.exec(container.image ?? '');
      expect(Number(version?.[1]) * 100 + Number(version?.[2])).toBeGreaterThanOrEqual(121);
      expect(env['LISTEN_PORT']?.value).toBe(String(port));
      expect(service.spec?.ports?.[0]?.port).toBe(port);
    });

    it('is what DATABASE_URL points at, and PostgreSQL (DATABASE_DIRECT_URL) its upstream', () => {
      const pooled = new URL(secret.stringData!['DATABASE_URL']!);
      const direct = new URL(secret.stringData!['DATABASE_DIRECT_URL']!);
      expect(pooled.hostname.split('.')[0]).toBe('pgbouncer');
      expect(pooled.hostname.split('.')[1]).toBe('weft');
      expect(Number(pooled.port)).toBe(service.spec?.ports?.[0]?.port);
      expect(direct.hostname.split('.')[0]).not.toBe('pgbouncer');
      // The same role and database through both.
      expect([pooled.username, pooled.pathname]).toEqual([direct.username, direct.pathname]);
      expect(env['DATABASE_URL']?.valueFrom?.secretKeyRef).toEqual({
        name: secret.metadata?.name,
        key: 'DATABASE_DIRECT_URL',
      });
    });

    it('runs unprivileged with a read-only root filesystem', () => {
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
      const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath);
      expect(mounts).toContain('/etc/pgbouncer');
    });
  });

  describe('the migration Job', () => {
    const job = only<IJob>('Job', 'weft-migrate', 'migrate-job.yaml');
    const pod = job.spec!.template.spec!;
    const container = pod.containers[0]!;

    it('runs tools/migrate.cjs from the standalone image, which holds every service', () => {
      expect(pod.containers).toHaveLength(1);
      expect(imageName(container.image!)).toBe('weft/standalone');
      expect(container.command).toEqual(['node', 'tools/migrate.cjs']);
      expect(existsSync(join(root, 'tools/migrate.cjs'))).toBe(true);
      expect(readText('apps/standalone/Dockerfile')).toMatch(/COPY[^\n]*tools\/migrate\.cjs/);
    });

    it('migrates on the direct URL, past PgBouncer', () => {
      const env = Object.fromEntries((container.env ?? []).map((v) => [v.name, v]));
      expect(env['DATABASE_DIRECT_URL']?.valueFrom?.secretKeyRef).toEqual({
        name: secret.metadata?.name,
        key: 'DATABASE_DIRECT_URL',
      });
    });

    it('retries a failed run and never restarts a finished one', () => {
      expect(pod.restartPolicy).toBe('Never');
      expect(job.spec?.backoffLimit).toBeGreaterThan(0);
      expect(job.spec?.activeDeadlineSeconds).toBeGreaterThan(0);
    });

    it('runs unprivileged with a read-only root filesystem', () => {
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    });
  });

  describe('NetworkPolicies', () => {
    const policies = ofKind<INetworkPolicy>('NetworkPolicy');
    const podLabels = (app: string) =>
      ofKind<IDeployment>('Deployment').find((d) => d.metadata?.name === app)!.spec!.template
        .metadata!.labels!;
    /** Whether a policy selects the pods with `labels` (matchLabels and In expressions). */
    const selects = (policy: INetworkPolicy, labels: Record<string, string>) => {
      const selector = policy.spec?.podSelector ?? {};
      const byLabel = Object.entries(selector.matchLabels ?? {}).every(
        ([key, value]) => labels[key] === value,
      );
      const byExpression = (selector.matchExpressions ?? []).every(
        (e) => e.operator === 'In' && (e.values ?? []).includes(labels[e.key] ?? ''),
      );
      return byLabel && byExpression;
    };
    const apps = [...serviceNames, 'pgbouncer'];

    it('deny all ingress in the namespace unless a policy allows it', () => {
      const deny = policies.filter(
        (p) =>
          Object.keys(p.spec?.podSelector ?? {}).length === 0 &&
          p.spec?.policyTypes?.includes('Ingress') &&
          (p.spec?.ingress ?? []).length === 0,
      );
      expect(deny).toHaveLength(1);
    });

    it('let only the gateway take ingress from anywhere, on its port', () => {
      for (const app of apps) {
        const open = policies
          .filter((p) => selects(p, podLabels(app)))
          .flatMap((p) => p.spec?.ingress ?? [])
          .filter((rule) => (rule.from ?? []).length === 0);
        const ports = open.flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
        expect({ app, ports }).toEqual({
          app,
          ports: app === 'gateway' ? [services.gateway.defaultPort] : [],
        });
      }
      // No rule anywhere opens every port.
      const portless = policies
        .flatMap((p) => p.spec?.ingress ?? [])
        .filter((rule) => (rule.ports ?? []).length === 0);
      expect(portless).toEqual([]);
    });

    it('let Prometheus scrape every service on its http port', () => {
      for (const app of serviceNames) {
        const ports = policies
          .filter((p) => selects(p, podLabels(app)))
          .flatMap((p) => p.spec?.ingress ?? [])
          .flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
        expect({ app, scraped: ports.includes(services[app].defaultPort) }).toEqual({
          app,
          scraped: true,
        });
      }
    });

    it('let Weft’s pods, and only them, reach PgBouncer', () => {
      const rules = policies
        .filter((p) => selects(p, podLabels('pgbouncer')))
        .flatMap((p) => p.spec?.ingress ?? []);
      expect(rules).toEqual([
        {
          from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'weft' } } }],
          ports: [{ port: 6432, protocol: 'TCP' }],
        },
      ]);
    });

    it('allow every pod egress except to the cloud metadata endpoint', () => {
      const egress = policies.filter(
        (p) =>
          Object.keys(p.spec?.podSelector ?? {}).length === 0 &&
          p.spec?.policyTypes?.includes('Egress'),
      );
      expect(egress).toHaveLength(1);
      const blocks = (egress[0]!.spec?.egress ?? []).flatMap((rule) =>
        (rule.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : [])),
      );
      const v4 = blocks.find((block) => block.cidr === '0.0.0.0/0');
      expect(v4?.except).toContain('169.254.169.254/32');
      // No other policy selects pods for egress, which would add paths around the exception.
      expect(policies.filter((p) => p.spec?.policyTypes?.includes('Egress'))).toHaveLength(1);
    });
  });

  it('gives KEDA RabbitMQ’s URL from the Secret', () => {
    const auth = only<ITriggerAuthentication>(
      'TriggerAuthentication',
      'weft-rabbitmq',
      'keda.yaml',
    );
    expect(auth.spec?.secretTargetRef).toEqual([
      { parameter: 'host', name: secret.metadata?.name, key: 'RABBITMQ_URL' },
    ]);
    expect(secret.stringData).toHaveProperty('RABBITMQ_URL');
  });

  describe.each(serviceNames)('%s', (app) => {
    const { defaultPort } = services[app];
    const deployment = only<IDeployment>('Deployment', app);
    const service = only<IService>('Service', app);
    const scaled = only<IScaledObject>('ScaledObject', app);
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

    it('has exactly one Deployment, Service, ScaledObject and PodDisruptionBudget', () => {
      const kinds = loaded.filter((l) => l.file === `${app}.yaml`).map((l) => l.object.kind);
      expect(kinds.sort()).toEqual(
        ['Deployment', 'PodDisruptionBudget', 'ScaledObject', 'Service'].sort(),
      );
      for (const object of [deployment, service, scaled, pdb]) {
        expect(object.metadata?.name).toBe(app);
      }
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

    it('is scaled by KEDA between 2 and 10 replicas, slowly down, also on CPU', () => {
      expect(scaled.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment.metadata?.name,
      });
      expect(scaled.spec.minReplicaCount).toBe(2);
      expect(scaled.spec.maxReplicaCount).toBe(10);
      const behavior = scaled.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
      expect(behavior?.scaleDown?.stabilizationWindowSeconds).toBe(300);
      expect(scaled.spec.triggers).toContainEqual({
        type: 'cpu',
        metricType: 'Utilization',
        metadata: { value: '70' },
      });
      // CPU utilisation is relative to the requests, which must be set.
      expect(container.resources?.requests?.['cpu']).toBeDefined();
      // KEDA owns the replica count; a fixed one would be reset on each apply.
      expect(deployment.spec?.replicas).toBeUndefined();
      expect(pdb.spec?.minAvailable).toBe(1);
    });

    it('scales on the signal of its own backlog', () => {
      const triggers = scaled.spec.triggers.filter((t) => t.type !== 'cpu');
      if (app === 'gateway') {
        expect(triggers).toHaveLength(1);
        expect(triggers[0]!.type).toBe('prometheus');
        expect(triggers[0]!.metadata['query']).toMatch(
          /^sum\(rate\(weft_http_requests_total\{[^}]*pod=~"gateway-\.\*"[^}]*\}\[1m\]\)\)$/,
        );
        expect(Number(triggers[0]!.metadata['threshold'])).toBeGreaterThan(0);
        expect(triggers[0]!.metadata['serverAddress']).toMatch(/^https?:\/\//);
      } else if (app === 'workflow') {
        // Kafka lag of the engines' group, on each topic it consumes.
        expect(triggers.map((t) => t.type)).toEqual(['kafka', 'kafka']);
        expect(triggers.map((t) => t.metadata['consumerGroup'])).toEqual([
          ConsumerGroups.workflowEngine,
          ConsumerGroups.workflowEngine,
        ]);
        expect(triggers.map((t) => t.metadata['topic']).sort()).toEqual(
          [EventTopics.runRequests.topic, EventTopics.stepResults.topic].sort(),
        );
        for (const trigger of triggers) {
          // Read from the container's environment, i.e. weft-config's brokers.
          expect(trigger.metadata['bootstrapServersFromEnv']).toBe('KAFKA_BROKERS');
          expect(configMap.data).toHaveProperty('KAFKA_BROKERS');
        }
        // More replicas than partitions would idle.
        const partitions = Number(configMap.data?.['KAFKA_PARTITIONS']);
        expect(scaled.spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
      } else {
        // RabbitMQ queue length of the worker's task queue, a prefetch's worth per replica.
        expect(triggers).toHaveLength(1);
        const [trigger] = triggers;
        expect(trigger!.type).toBe('rabbitmq');
        expect(trigger!.authenticationRef?.name).toBe('weft-rabbitmq');
        expect(trigger!.metadata).toMatchObject({
          protocol: 'amqp',
          mode: 'QueueLength',
          queueName: TaskQueues[app].queue,
        });
        const config = parseConfig(app, { ...stringMap(configMap.data), ...filledSecret });
        const prefetch = (config.data as { TASK_PREFETCH: number }).TASK_PREFETCH;
        expect(Number(trigger!.metadata['value'])).toBe(prefetch);
      }
    });

    it('rolls out one new pod at a time without losing capacity', () => {
      expect(deployment.spec?.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
    });

    it('runs one container on the app’s default port, named http, behind a ClusterIP Service', () => {
      expect(containers).toHaveLength(1);
      expect(imageName(container.image!)).toBe(`weft/${app}`);
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

    it('has a memory limit above the heap its Node flags allow, with room for the rest', () => {
      // What V8 itself makes of the image's flags (old space, and three young-generation
      // semi-spaces since they are set: ADR 0030), whatever memory this machine has.
      const child = spawnSync(
        process.execPath,
        [
          ...SERVICE_NODE_FLAGS[app],
          '-p',
          'require("node:v8").getHeapStatistics().heap_size_limit',
        ],
        { encoding: 'utf8' },
      );
      expect(child.status).toBe(0);
      const heapMiB = Number(child.stdout) / MIB;
      // Outside the heap: Node itself, compiled code, sockets' and streams' buffers.
      const roomMiB = 64;
      expect(heapMiB + roomMiB).toBeLessThanOrEqual(
        mebibytes(container.resources!.limits!['memory']),
      );
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
      ...(fromSecret ? filledSecret : {}),
      ...(fromConfigMap ? stringMap(configMap.data) : {}),
      ...env,
    };
    const config = () =>
      parseConfig(app, environment).data as {
        SHUTDOWN_TIMEOUT_MS: number;
        WEFT_MIGRATIONS: string;
        WEFT_MIGRATIONS_WAIT_MS: number;
        DATABASE_URL: string;
        DATABASE_DIRECT_URL?: string;
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

    it('waits for the migration Job instead of migrating, on the pooled URL', () => {
      expect(config().WEFT_MIGRATIONS).toBe('wait');
      expect(new URL(config().DATABASE_URL).hostname.split('.')[0]).toBe('pgbouncer');
    });

    it('lets the start-up probe outlast the wait for migrations, so the service reports it', () => {
      const probe = container.startupProbe!;
      const budgetSeconds = (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3);
      expect(budgetSeconds).toBeGreaterThan(config().WEFT_MIGRATIONS_WAIT_MS / 1000);
      // But not forever: a hung start is restarted within a few minutes more.
      expect(budgetSeconds).toBeLessThan(config().WEFT_MIGRATIONS_WAIT_MS / 1000 + 120);
    });

    it('gives a terminating pod longer than its preStop pause plus its drain', () => {
      const needed = sleepSeconds(container) + config().SHUTDOWN_TIMEOUT_MS / 1000;
      expect(pod.spec?.terminationGracePeriodSeconds).toBeGreaterThan(needed);
    });
  });
});
