import {
  ok,
  type Api,
  type Run,
  type RunEvent,
  type RunStatus,
  type RunSummary,
} from '../api/client';
import { connect, workflowNamed } from '../context';
import { parseInput } from '../input';
import { elapsed, paint, printJson, table, when } from '../output';
import { eventLine, lastEventSeq, watchRun } from '../watch';

type StepStatus = Run['steps'][number]['status'];
const STATUS_STYLE = {
  pending: 'dim',
  queued: 'dim',
  running: 'cyan',
  waiting: 'yellow',
  succeeded: 'green',
  failed: 'red',
  skipped: 'dim',
  cancelled: 'yellow',
} as const satisfies Record<RunStatus | StepStatus, string>;
const status = (value: RunStatus | StepStatus) => paint(STATUS_STYLE[value], value);

/** Exit code of a watched run: 0 when it succeeded, 1 when it failed or was cancelled. */
export const exitCodeOf = (run: Pick<Run, 'status'>): number =>
  run.status === 'succeeded' ? 0 : 1;

/** Prints a run's events as they come, each with its time since the first, then the outcome. */
async function follow(
  api: Api,
  runId: string,
  json: boolean | undefined,
  afterSeq = 0,
): Promise<number> {
  let first: number | undefined;
  // With --json, standard output is the final run alone; the progress goes to standard error.
  const write = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const run = await watchRun(
    api,
    runId,
    (event: RunEvent) => {
      const at = Date.parse(event.at);
      first ??= at;
      const line = eventLine(event);
      if (line)
        write(`${paint('dim', `+${((at - first) / 1000).toFixed(1)}s`.padStart(7))} ${line}`);
    },
    afterSeq,
  );
  if (json) printJson(run);
  else {
    if (run.status === 'succeeded' && run.output !== undefined && run.output !== null) {
      console.log(`output: ${JSON.stringify(run.output, null, 2)}`);
    }
    const took = elapsed(run.startedAt ?? run.createdAt, run.finishedAt);
    const message = `run ${run.id} ${run.status} in ${took}`;
    if (run.status === 'succeeded') console.log(message);
    else {
      const error = run.error ? `: ${run.error.code}: ${run.error.message}` : '';
      console.error(`${paint('red', 'error', process.stderr)} ${message}${error} (exit code 1)`);
    }
  }
  return exitCodeOf(run);
}

export interface RunOptions {
  input?: string;
  watch?: boolean;
  json?: boolean;
  idempotencyKey?: string;
}

/** `weft run <name>`: starts a run of the workflow's latest version; --watch follows it. */
export async function runWorkflow(name: string, options: RunOptions): Promise<number> {
  const input = parseInput(options.input);
  const api = connect();
  const workflow = await workflowNamed(api, name);
  const run = await ok(
    api.POST('/v1/workflows/{id}/runs', {
      params: {
        path: { id: workflow.id },
        header: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
      },
      // No --input is the API's default input, {}.
      body: { input: input ?? {} },
    }),
  );
  if (options.watch) {
    if (!options.json) console.log(`run ${run.id} of ${workflow.name} v${run.workflowVersion}`);
    return follow(api, run.id, options.json);
  }
  if (options.json) printJson(run);
  else console.log(run.id);
  return 0;
}

export interface ListOptions {
  workflow?: string;
  status?: RunStatus;
  limit?: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

/** Workflow names by id, read once each (a run's workflow may have been archived since). */
function workflowNames(api: Api) {
  const names = new Map<string, Promise<string>>();
  return (id: string) => {
    let name = names.get(id);
    if (!name) {
      name = ok(api.GET('/v1/workflows/{id}', { params: { path: { id } } })).then(
        (workflow) => workflow.name,
        () => id,
      );
      names.set(id, name);
    }
    return name;
  };
}

/** `weft runs ls`: newest first, a page at a time (the API's keyset cursor), or --all. */
export async function listRuns(options: ListOptions): Promise<number> {
  const api = connect();
  const workflowId = options.workflow ? (await workflowNamed(api, options.workflow)).id : undefined;
  const items: RunSummary[] = [];
  let cursor = options.cursor;
  let nextCursor: string | null;
  do {
    const page = await ok(
      api.GET('/v1/runs', {
        params: {
          query: {
            ...(workflowId && { workflowId }),
            ...(options.status && { status: options.status }),
            ...(options.limit && { limit: options.limit }),
            ...(cursor && { cursor }),
          },
        },
      }),
    );
    items.push(...page.items);
    nextCursor = page.nextCursor;
    cursor = nextCursor ?? undefined;
  } while (options.all && cursor);

  if (options.json) {
    printJson({ items, nextCursor });
    return 0;
  }
  const nameOf = workflowNames(api);
  const rows = await Promise.all(
    items.map(async (run) => [
      run.id,
      await nameOf(run.workflowId),
      status(run.status),
      when(run.startedAt ?? run.createdAt),
      run.startedAt ? elapsed(run.startedAt, run.finishedAt) : '-',
    ]),
  );
  console.log(
    items.length ? table(['ID', 'WORKFLOW', 'STATUS', 'STARTED', 'DURATION'], rows) : 'No runs.',
  );
  if (nextCursor) {
    const again = [
      'weft runs ls',
      ...(options.workflow ? [`--workflow ${JSON.stringify(options.workflow)}`] : []),
      ...(options.status ? [`--status ${options.status}`] : []),
      ...(options.limit ? [`--limit ${options.limit}`] : []),
      `--cursor ${nextCursor}`,
    ].join(' ');
    console.log(paint('dim', `next: ${again}   (or --all)`));
  }
  return 0;
}

/** `weft runs get <id>`: the run, its steps and its output or error. */
export async function getRun(id: string, options: { json?: boolean }): Promise<number> {
  const api = connect();
  const run = await ok(api.GET('/v1/runs/{id}', { params: { path: { id } } }));
  if (options.json) {
    printJson(run);
    return 0;
  }
  const workflow = await workflowNames(api)(run.workflowId);
  const lines = [
    ['run', run.id],
    ['status', status(run.status)],
    ['workflow', `${workflow} v${run.workflowVersion}`],
    ['trigger', run.trigger.type],
    ['created', when(run.createdAt)],
    ['started', when(run.startedAt)],
    ['finished', when(run.finishedAt)],
    ['duration', run.startedAt ? elapsed(run.startedAt, run.finishedAt) : '-'],
    ...(run.parentRunId ? [['parent', run.parentRunId]] : []),
    ...(run.error ? [['error', `${run.error.code}: ${run.error.message}`]] : []),
  ];
  console.log(table(['', ''], lines).split('\n').slice(1).join('\n'));
  console.log('');
  console.log(
    table(
      ['STEP', 'TYPE', 'STATUS', 'ATTEMPTS', 'DURATION', 'ERROR'],
      run.steps.map((step) => [
        step.id,
        step.type,
        status(step.status),
        String(step.attempts),
        step.startedAt ? elapsed(step.startedAt, step.finishedAt) : '-',
        step.error ? `${step.error.code}: ${step.error.message}` : '',
      ]),
    ),
  );
  if (run.output !== undefined && run.output !== null) {
    console.log(`\noutput: ${JSON.stringify(run.output, null, 2)}`);
  }
  return 0;
}

/** `weft runs cancel <id>` and `weft runs retry <id>`, optionally followed to the end. */
export async function changeRun(
  action: 'cancel' | 'retry',
  id: string,
  options: { json?: boolean; watch?: boolean },
): Promise<number> {
  const api = connect();
  const path = action === 'cancel' ? '/v1/runs/{id}/cancel' : '/v1/runs/{id}/retry';
  const doing = action === 'cancel' ? 'cancelling' : 'retrying';
  // Watching a retry shows what the retry does, not the history that ended in the failure.
  const afterSeq = options.watch && action === 'retry' ? await lastEventSeq(api, id) : 0;
  const run = await ok(api.POST(path, { params: { path: { id } } }));
  if (options.watch) {
    if (!options.json) console.log(`run ${run.id} ${doing}`);
    return follow(api, run.id, options.json, afterSeq);
  }
  if (options.json) printJson(run);
  else console.log(`run ${run.id} ${doing} (now ${status(run.status)})`);
  return 0;
}

/** `weft runs watch <id>`: as `weft run --watch`, for a run started elsewhere. */
export function watch(id: string, options: { json?: boolean }): Promise<number> {
  return follow(connect(), id, options.json);
}
