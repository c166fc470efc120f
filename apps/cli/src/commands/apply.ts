import type { Schema } from '@cfworker/json-schema';
import { ApiError, ok, type Api, type Workflow, type WorkflowDefinition } from '../api/client';
import { connect, findWorkflow } from '../context';
import { DefinitionSchema, definitionFiles, readDefinition, type Issue } from '../definitions';
import { paint, printJson } from '../output';
import { plan, planLine, planSummary, type PlanEntry } from '../plan';

export interface ApplyOptions {
  file: string[];
  dryRun?: boolean;
  json?: boolean;
}

/** What applying one entry of the plan did. */
export type Outcome =
  | {
      file: string;
      name: string;
      result: 'created' | 'updated' | 'unchanged';
      id: string;
      version: number;
    }
  | { file: string; name?: string; result: 'failed'; problem: string; issues: Issue[] };

const PLAN_STYLE = { create: 'green', update: 'yellow', unchanged: 'dim', invalid: 'red' } as const;

function printIssues(file: string, problem: string, issues: readonly Issue[]): void {
  console.error(`${paint('red', 'error', process.stderr)} ${file}: ${problem}`);
  for (const issue of issues) console.error(`  ${issue.path}: ${issue.message}`);
}

/**
 * `weft apply`: reads every file first, plans against the tenant's workflows by name, prints
 * the plan, then creates and updates. With --dry-run the plan only, each file to create or
 * update checked against the workflow JSON Schema.
 */
export async function apply(options: ApplyOptions): Promise<number> {
  const files = options.file.flatMap(definitionFiles).map(readDefinition);
  const api = connect();
  const current = new Map<string, Workflow>();
  for (const { definition } of files) {
    const name = definition?.['name'];
    if (typeof name !== 'string' || name === '' || current.has(name)) continue;
    const workflow = await findWorkflow(api, name);
    if (workflow) current.set(name, workflow);
  }
  let entries = plan(files, current);
  if (options.dryRun) entries = await checkLocally(api, entries);

  if (!options.json) {
    for (const entry of entries) {
      const line = planLine(entry);
      console.log(
        `${paint(PLAN_STYLE[entry.action], line)}${entry.action === 'invalid' ? '' : paint('dim', `  ${entry.file}`)}`,
      );
      if (entry.action === 'invalid' && options.dryRun)
        for (const issue of entry.issues) console.log(`    ${issue.path}: ${issue.message}`);
    }
    console.log(`\nPlan: ${planSummary(entries)}.`);
  }
  if (options.dryRun) {
    if (options.json) printJson({ plan: entries.map(withoutDefinition) });
    return entries.some((entry) => entry.action === 'invalid') ? 1 : 0;
  }

  const outcomes: Outcome[] = [];
  for (const entry of entries) outcomes.push(await applyEntry(api, entry));
  if (options.json) {
    printJson({ plan: entries.map(withoutDefinition), results: outcomes });
  } else {
    console.log('');
    for (const outcome of outcomes) {
      if (outcome.result === 'failed') printIssues(outcome.file, outcome.problem, outcome.issues);
      else if (outcome.result === 'created')
        console.log(`${paint('green', 'created')} ${outcome.name} (v${outcome.version})`);
      else if (outcome.result === 'updated')
        console.log(`${paint('yellow', 'updated')} ${outcome.name} (v${outcome.version})`);
    }
    const count = (result: Outcome['result']) => outcomes.filter((o) => o.result === result).length;
    console.log(
      `Applied: ${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged, ${count('failed')} failed.`,
    );
  }
  return outcomes.some((outcome) => outcome.result === 'failed') ? 1 : 0;
}

/** A plan entry as --json prints it: the definition is the file's content, not repeated. */
const withoutDefinition = (entry: PlanEntry) =>
  Object.fromEntries(Object.entries(entry).filter(([key]) => key !== 'definition'));

/**
 * A file's definition as the request body. It is sent as written, unchecked here: the server
 * validates it and answers each problem at its path, which is what apply reports.
 */
const asSent = (definition: Record<string, unknown>) => definition as unknown as WorkflowDefinition;

async function applyEntry(api: Api, entry: PlanEntry): Promise<Outcome> {
  const { file } = entry;
  try {
    switch (entry.action) {
      case 'invalid':
        return {
          file,
          ...(entry.name && { name: entry.name }),
          result: 'failed',
          problem: entry.problem,
          issues: entry.issues,
        };
      case 'unchanged':
        return { file, name: entry.name, result: 'unchanged', ...entry.workflow };
      case 'create': {
        const saved = await ok(api.POST('/v1/workflows', { body: asSent(entry.definition) }));
        return { file, name: entry.name, result: 'created', id: saved.id, version: saved.version };
      }
      case 'update': {
        const saved = await ok(
          api.PUT('/v1/workflows/{id}', {
            params: { path: { id: entry.workflow.id } },
            body: asSent(entry.definition),
          }),
        );
        // The server makes no new version of a definition that means the same once defaults
        // apply (another key order, a default spelled out): that is "unchanged".
        const result = saved.version === entry.workflow.version ? 'unchanged' : 'updated';
        return { file, name: entry.name, result, id: saved.id, version: saved.version };
      }
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return {
      file,
      name: entry.name,
      result: 'failed',
      problem: error.message,
      issues: error.issues,
    };
  }
}

/**
 * There is no validation endpoint: --dry-run checks each file to create or update against the
 * workflow JSON Schema the server serves (/v1/schemas/workflow.json, the committed
 * schemas/workflow.json), with @cfworker/json-schema. The server checks more when it saves.
 */
async function checkLocally(api: Api, entries: PlanEntry[]): Promise<PlanEntry[]> {
  if (!entries.some((entry) => entry.action === 'create' || entry.action === 'update'))
    return entries;
  const schema = new DefinitionSchema(
    (await ok(api.GET('/v1/schemas/workflow.json'))) as unknown as Schema,
  );
  return entries.map((entry) => {
    if (entry.action !== 'create' && entry.action !== 'update') return entry;
    const issues = schema.validate(entry.definition);
    if (issues.length === 0) return entry;
    return {
      action: 'invalid',
      file: entry.file,
      name: entry.name,
      problem: `${entry.action === 'create' ? 'cannot be created' : 'cannot be updated'}: the definition does not match the workflow schema`,
      issues,
    };
  });
}
