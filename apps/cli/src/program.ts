import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { apply } from './commands/apply';
import { exportWorkflows } from './commands/export';
import { login } from './commands/login';
import { changeRun, getRun, listRuns, runWorkflow, watch } from './commands/runs';
import { configPath } from './config';

/** Exit codes; docs/reference/cli.md lists them. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
  version: string;
};

const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new InvalidArgumentError('an integer from 1 to 100');
  return n;
}

const collect = (value: string, previous: string[]) => [...previous, value];

const SETTINGS_HELP = `
Settings:
  Every command but login reads the server's URL and API key from WEFT_URL and WEFT_API_KEY,
  else from the file \`weft login\` writes: WEFT_CONFIG if set, else
  $XDG_CONFIG_HOME/weft/config.json, else ~/.config/weft/config.json (now: ${configPath()}).

Exit codes: 0 success; 1 a failure (an API error, a file that did not apply, a watched run
that failed or was cancelled); 2 a usage error.
Colours only on a terminal, and never with NO_COLOR set.`;

/**
 * The `weft` program. Each action resolves to the exit code; `run` sets it on the process
 * (main.ts), and errors are printed there.
 */
export function program(run: (pending: Promise<number>) => void): Command {
  const weft = new Command('weft')
    .description(
      'Weft from a terminal: workflow definitions kept in files (in git), applied to a Weft server; runs started and watched.',
    )
    .version(version)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', SETTINGS_HELP)
    .exitOverride((error) => {
      // Commander's own exits: help and --version are success, anything else a usage error.
      process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
    });

  weft
    .command('login')
    .description(
      'Check a URL and API key against the server (a GET) and save them for later commands',
    )
    .option(
      '--url <url>',
      'the Weft server, e.g. http://127.0.0.1:3000 (else WEFT_URL, else asked)',
    )
    .option('--key <key>', 'a tenant API key, wk_… (else WEFT_API_KEY, else asked)')
    .addHelpText(
      'after',
      `
Missing values are asked for on a terminal. The file is written with mode 0600 (an existing
one is set to 0600): WEFT_CONFIG if set, else $XDG_CONFIG_HOME/weft/config.json, else
~/.config/weft/config.json.

Example:
  weft login --url http://127.0.0.1:3000 --key wk_…`,
    )
    .action((options: { url?: string; key?: string }) => run(login(options).then(() => EXIT.ok)));

  weft
    .command('apply')
    .description(
      'Create or update workflows from definition files (JSON or YAML), by workflow name',
    )
    .option(
      '-f, --file <file|dir>',
      'a definition file, or a directory of *.json, *.yaml, *.yml (repeatable)',
      collect,
      [],
    )
    .option(
      '--dry-run',
      'print the plan and check the files against the workflow JSON Schema; change nothing',
    )
    .option('--json', 'print the plan and results as JSON')
    .addHelpText(
      'after',
      `
Each file holds one definition; its \`name\` finds the workflow (names are unique per tenant):
  + create NAME              no active workflow has the name: POST /v1/workflows
  ~ update NAME (v3 → v4)    the definition differs from the latest version: PUT, a new version
  = unchanged NAME (v3)      the same definition (key order aside): nothing is sent
The plan is printed first, then applied. A definition that differs only by spelled-out defaults
makes no new version on the server and is reported unchanged.

--dry-run: the server has no validation endpoint, so the files to create or update are checked
here against the workflow JSON Schema (schemas/workflow.json, as GET /v1/schemas/workflow.json
serves it) with @cfworker/json-schema. The server checks more when it saves (step references,
cycles, expressions), so a dry run that passes can still fail to apply.

Errors name the file, the problem, and each path in the definition ($.steps[0].type).
Exit code 1 when any file failed.

Examples:
  weft apply -f examples/
  weft apply -f workflows/uptime-check.weft.yaml --dry-run`,
    )
    .action((options: { file: string[]; dryRun?: boolean; json?: boolean }, command: Command) => {
      // Repeatable, so it has a default ([]), which commander's requiredOption would accept.
      if (options.file.length === 0)
        command.error("required option '-f, --file <file|dir>' not specified");
      run(apply(options));
    });

  weft
    .command('run')
    .description("Start a run of a workflow's latest version, by name, and print its id")
    .argument('<workflow>', 'the workflow name')
    .option('--input <json|@file>', "the run's input: JSON, or @file.json (@- for standard input)")
    .option(
      '-w, --watch',
      'follow the run step by step until it ends; the exit code says how it ended',
    )
    .option(
      '--idempotency-key <key>',
      'start at most one run for this key (the same key answers the same run)',
    )
    .option(
      '--json',
      'print the run as JSON (with --watch: the finished run; progress on standard error)',
    )
    .addHelpText(
      'after',
      `
With --watch, the exit code is 0 when the run succeeded and 1 when it failed or was cancelled.

Examples:
  weft run uptime-check --input '{"url":"http://127.0.0.1:3000/health"}' --watch
  weft run order-routing --input @order.json`,
    )
    .action(
      (
        name: string,
        options: { input?: string; watch?: boolean; json?: boolean; idempotencyKey?: string },
      ) => run(runWorkflow(name, options)),
    );

  const runs = weft.command('runs').description('List, read, cancel, retry and watch runs');
  runs
    .command('ls')
    .alias('list')
    .description('List runs, newest first: id, workflow, status, started, duration')
    .option('--workflow <name>', 'runs of this workflow only')
    .addOption(new Option('--status <status>', 'runs in this status only').choices(RUN_STATUSES))
    .option('--limit <n>', 'runs per page, 1 to 100 (default 20)', positiveInteger)
    .option('--cursor <cursor>', 'the page after this one (printed as next: …)')
    .option('--all', 'follow the pages to the last')
    .option('--json', 'print { items, nextCursor } as the API answers them')
    .action(
      (options: {
        workflow?: string;
        status?: (typeof RUN_STATUSES)[number];
        limit?: number;
        cursor?: string;
        all?: boolean;
        json?: boolean;
      }) => run(listRuns(options)),
    );
  runs
    .command('get')
    .description('Show a run: status, times, each step, output or error')
    .argument('<id>', 'the run id')
    .option('--json', 'print the run as the API answers it')
    .action((id: string, options: { json?: boolean }) => run(getRun(id, options)));
  runs
    .command('cancel')
    .description('Cancel a run: running steps are told to stop (409 when it has ended)')
    .argument('<id>', 'the run id')
    .option('--json', 'print the run as JSON')
    .action((id: string, options: { json?: boolean }) => run(changeRun('cancel', id, options)));
  runs
    .command('retry')
    .description('Resume a failed run from its failed steps (409 when it has not failed)')
    .argument('<id>', 'the run id')
    .option('-w, --watch', 'follow it until it ends; the exit code says how')
    .option('--json', 'print the run as JSON')
    .action((id: string, options: { json?: boolean; watch?: boolean }) =>
      run(changeRun('retry', id, options)),
    );
  runs
    .command('watch')
    .description(
      'Follow a run step by step until it ends (exit code 0 when it succeeded, 1 otherwise)',
    )
    .argument('<id>', 'the run id')
    .option('--json', 'print the finished run as JSON (progress on standard error)')
    .action((id: string, options: { json?: boolean }) => run(watch(id, options)));

  weft
    .command('export')
    .description(
      "Write every active workflow's latest definition to <name>.weft.json (or .weft.yaml)",
    )
    .option('--dir <dir>', 'where to write the files', '.')
    .addOption(
      new Option('--format <format>', 'file format').choices(['json', 'yaml']).default('json'),
    )
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      `
The files hold each definition as it was saved, so \`weft apply -f DIR\` reads them back as
unchanged. Characters other than letters, digits, ".", "_" and "-" in a name become "_".

Example:
  weft export --dir workflows --format yaml`,
    )
    .action((options: { dir: string; format: 'json' | 'yaml'; json?: boolean }) =>
      run(exportWorkflows(options)),
    );

  return weft;
}
