import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { z } from 'zod';
import * as ai from '@weft/ai';
import * as gateway from '@weft/gateway';
import * as integration from '@weft/integration';
import * as workflow from '@weft/workflow';

export const root = join(__dirname, '../..');

export function readText(path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

export function readJson<T>(path: string): T {
  return JSON.parse(readText(path)) as T;
}

interface Service {
  defaultPort: number;
  configSchema: z.ZodObject;
}

/** The services that ship as images, with what their own packages say about themselves. */
export const services = {
  gateway: { defaultPort: gateway.defaultPort, configSchema: gateway.configSchema },
  workflow: { defaultPort: workflow.defaultPort, configSchema: workflow.configSchema },
  integration: { defaultPort: integration.defaultPort, configSchema: integration.configSchema },
  ai: { defaultPort: ai.defaultPort, configSchema: ai.configSchema },
} satisfies Record<string, Service>;
export type ServiceName = keyof typeof services;
export const serviceNames = Object.keys(services) as ServiceName[];

/** Apps whose project.json tags them `type:app` (the standalone launcher is `type:launcher`). */
export function appProjects(): string[] {
  return readdirSync(join(root, 'apps'))
    .filter((dir) =>
      readJson<{ tags?: string[] }>(`apps/${dir}/project.json`).tags?.includes('type:app'),
    )
    .sort();
}

/** The variable names a service reads: the keys of its configuration schema. */
export function variablesOf(service: ServiceName): string[] {
  return Object.keys(services[service].configSchema.shape);
}

/** Every variable that some service reads. */
export function allVariables(): Set<string> {
  return new Set(serviceNames.flatMap(variablesOf));
}

/** Variables without a default that are not optional: a service does not start without them. */
export function requiredVariables(service: ServiceName): string[] {
  const shape = services[service].configSchema.shape as Record<string, z.ZodType>;
  return Object.entries(shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([name]) => name);
}

/** The service's configuration parsed from `env` the way loadConfig does it (empty = unset). */
export function parseConfig(service: ServiceName, env: Record<string, string>) {
  const defined = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  return services[service].configSchema.safeParse(defined);
}

/** npm workspace directories (root package.json `workspaces`, each `dir/*` glob expanded). */
export function workspaceDirs(): string[] {
  const { workspaces } = readJson<{ workspaces: string[] }>('package.json');
  return workspaces
    .flatMap((pattern) => {
      if (!pattern.endsWith('/*')) throw new Error(`unsupported workspace pattern ${pattern}`);
      const parent = pattern.slice(0, -2);
      return readdirSync(join(root, parent), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${parent}/${entry.name}`);
    })
    .filter((dir) => {
      try {
        readText(`${dir}/package.json`);
        return true;
      } catch {
        return false;
      }
    })
    .sort();
}

export interface Instruction {
  /** Index of the build stage (FROM) the instruction belongs to. */
  stage: number;
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with comments dropped and continuation lines joined. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line));
  const logical: string[] = [];
  let current = '';
  for (const line of lines) {
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());
  let stage = -1;
  return logical.map((line) => {
    const match = /^(\S+)\s*(.*)$/s.exec(line);
    if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const keyword = match[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    return { stage, keyword, args: match[2]!.replace(/\s+/g, ' ').trim() };
  });
}

/** `KEY=value` pairs of an ENV instruction (values without spaces or in double quotes). */
export function envPairs(args: string): Record<string, string> {
  return Object.fromEntries(
    [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)].map((m) => [
      m[1]!,
      m[2]!.replace(/^"(.*)"$/, '$1'),
    ]),
  );
}

/**
 * A `KEY=value` file as kustomize's generators and compose's `.env` read the simple case: one
 * assignment a line, `#` comments and blank lines skipped, the value taken as written.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (!match) throw new Error(`not a KEY=value line: ${line}`);
      return [match[1]!, match[2]!] as const;
    });
  const names = entries.map(([name]) => name);
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0) throw new Error(`set twice: ${repeated.join(', ')}`);
  return Object.fromEntries(entries);
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Workspace directory by package name (`@weft/runtime` → `libs/runtime`). */
const dirByPackage = new Map(
  workspaceDirs().map((dir) => [readJson<Manifest>(`${dir}/package.json`).name, dir]),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.[cm]?ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !/[/\\](dist|node_modules)[/\\]/.test(file));
}

/**
 * The workspaces `dir` depends on directly, from every place a dependency can be declared:
 * package.json (none of the apps declare their @weft libraries there today), the TypeScript
 * project references that `tsc -b` builds, and the `@weft/*` imports in its sources.
 */
export function directDependencies(dir: string): Set<string> {
  const manifest = readJson<Manifest>(`${dir}/package.json`);
  const names = [
    manifest.dependencies,
    manifest.devDependencies,
    manifest.peerDependencies,
    manifest.optionalDependencies,
  ].flatMap((deps) => Object.keys(deps ?? {}));
  const tsconfig = readJson<{ references?: { path: string }[] }>(`${dir}/tsconfig.json`);
  const referenced = (tsconfig.references ?? []).map((ref) => posix.join(dir, ref.path));
  const imported = sourceFiles(dir).flatMap((file) =>
    [
      ...readFileSync(file, 'utf8').matchAll(
        /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](@weft\/[a-z-]+)(?:\/[^'"]*)?['"]/g,
      ),
    ].map((m) => m[1]!),
  );
  const dirs = [...names, ...imported].flatMap((name) => {
    if (!name.startsWith('@weft/')) return [];
    const found = dirByPackage.get(name);
    if (!found) throw new Error(`${dir} depends on ${name}, which is no workspace`);
    return [found];
  });
  return new Set([...dirs, ...referenced].filter((dep) => dep !== dir));
}

export function transitiveDependencies(dir: string): Set<string> {
  const seen = new Set<string>();
  const visit = (current: string) => {
    for (const dep of directDependencies(current)) {
      if (!seen.has(dep)) {
        seen.add(dep);
        visit(dep);
      }
    }
  };
  visit(dir);
  return seen;
}
