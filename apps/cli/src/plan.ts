import { isDeepStrictEqual } from 'node:util';
import type { Workflow } from './api/client';
import type { DefinitionFile, Issue } from './definitions';

/** What `weft apply` does with one file. */
export type PlanEntry =
  | { action: 'create'; file: string; name: string; definition: Record<string, unknown> }
  | {
      action: 'update';
      file: string;
      name: string;
      definition: Record<string, unknown>;
      workflow: Pick<Workflow, 'id' | 'version'>;
    }
  | { action: 'unchanged'; file: string; name: string; workflow: Pick<Workflow, 'id' | 'version'> }
  | { action: 'invalid'; file: string; name?: string; problem: string; issues: Issue[] };

/** The workflow's name as the definition gives it, if it gives one. */
export function nameOf(definition: Record<string, unknown>): string | undefined {
  const { name } = definition;
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

/**
 * The plan for `files` against the tenant's active workflows of those names (names are unique
 * per tenant): absent → create; present with another definition → update (a new version);
 * present with the same one → unchanged. "The same" is the stored definition as JSON, key order
 * aside; the server also treats a definition that differs only by spelled-out defaults as the
 * same and then makes no new version (apply reports that).
 */
export function plan(
  files: readonly DefinitionFile[],
  current: ReadonlyMap<string, Workflow>,
): PlanEntry[] {
  const seen = new Map<string, string>();
  return files.map((loaded): PlanEntry => {
    const { file, definition } = loaded;
    if (!definition)
      return { action: 'invalid', file, problem: loaded.problem ?? 'unreadable', issues: [] };
    const name = nameOf(definition);
    if (!name) {
      return {
        action: 'invalid',
        file,
        problem: 'the definition has no name',
        issues: [{ path: '$.name', message: 'required: a non-empty string' }],
      };
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      return {
        action: 'invalid',
        file,
        name,
        problem: `${earlier} defines ${name} too`,
        issues: [],
      };
    }
    seen.set(name, file);
    const workflow = current.get(name);
    if (!workflow) return { action: 'create', file, name, definition };
    const { id, version } = workflow;
    return isDeepStrictEqual(workflow.definition, definition)
      ? { action: 'unchanged', file, name, workflow: { id, version } }
      : { action: 'update', file, name, definition, workflow: { id, version } };
  });
}

/** One line of the printed plan: `+ create uptime-check`, `~ update order-routing (v3 → v4)`. */
export function planLine(entry: PlanEntry): string {
  switch (entry.action) {
    case 'create':
      return `+ create ${entry.name}`;
    case 'update':
      return `~ update ${entry.name} (v${entry.workflow.version} → v${entry.workflow.version + 1})`;
    case 'unchanged':
      return `= unchanged ${entry.name} (v${entry.workflow.version})`;
    case 'invalid':
      return `! invalid ${entry.file}: ${entry.problem}`;
  }
}

/** `2 to create, 1 to update, 10 unchanged, 1 invalid` (the kinds present only). */
export function planSummary(entries: readonly PlanEntry[]): string {
  const count = (action: PlanEntry['action']) => entries.filter((e) => e.action === action).length;
  const parts = [
    [count('create'), 'to create'],
    [count('update'), 'to update'],
    [count('unchanged'), 'unchanged'],
    [count('invalid'), 'invalid'],
  ] as const;
  const said = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return said.length ? said.join(', ') : 'nothing to do';
}
