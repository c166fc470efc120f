import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { EchoServer } from '../api/support/echo-server';
import { startTarget, type Target } from '../api/support/target';

/**
 * The weft command as a person runs it: the npm bin link (node_modules/.bin/weft, the committed
 * apps/cli/bin/weft.cjs) in a child process, against the standalone app (`npm start`'s program,
 * built, with its own data folder; the API suite's launcher), and a loopback HTTP server for
 * the runs' steps to call.
 */
const repo = join(__dirname, '../..');
const weftBin = join(repo, 'node_modules/.bin/weft');

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Each test runs the CLI a few times; jest's testTimeout applies to the whole run, not to a project. */
const TIMEOUT = 30_000;

describe('the weft CLI against the standalone app', () => {
  const work = mkdtempSync(join(tmpdir(), 'weft-cli-'));
  const configFile = join(work, 'home', 'weft', 'config.json');
  let server: Target;
  let target: EchoServer;
  let url: string;
  let targetUrl: string;
  let apiKey: string;

  /** Runs `weft args…`; Node 24 (this test's) is first on PATH for the bin's `env node`. */
  const weft = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Result>((resolve) => {
      execFile(
        weftBin,
        args,
        {
          cwd: repo,
          timeout: 30_000,
          env: {
            ...process.env,
            PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
            WEFT_CONFIG: configFile,
            WEFT_URL: '',
            WEFT_API_KEY: '',
            NO_COLOR: '1',
            ...env,
          },
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

  const ok = async (args: string[]) => {
    const result = await weft(args);
    if (result.code !== 0) {
      throw new Error(
        `weft ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`,
      );
    }
    return result.stdout;
  };

  beforeAll(async () => {
    // Steps call this server: /missing answers 404 (a run that fails), anything else 200.
    target = await new EchoServer().start();
    target.script('/missing', () => ({ status: 404 }));
    targetUrl = target.url;
    cpSync(join(repo, 'examples'), join(work, 'examples'), { recursive: true });
    // Its SSRF allow list admits loopback, where the echo server listens.
    server = await startTarget('standalone', await freePort());
    url = server.baseUrl;
    const tenant = await fetch(`${url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli' }),
    });
    expect(tenant.status).toBe(201);
    ({ apiKey } = (await tenant.json()) as { apiKey: string });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await target?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it(
    'shows help for the program and each command',
    async () => {
      const help = await ok(['--help']);
      for (const command of ['login', 'apply', 'run', 'runs', 'export'])
        expect(help).toContain(command);
      expect(await ok(['apply', '--help'])).toContain('--dry-run');
      expect(await ok(['runs', 'ls', '--help'])).toContain('--cursor');
      expect((await weft(['no-such-command'])).code).toBe(2);
    },
    TIMEOUT,
  );

  it(
    'logs in: checks the key, keeps URL and key in a 0600 file',
    async () => {
      const refused = await weft(['login', '--url', url, '--key', 'wk_not-a-key']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Unauthorized');
      expect(() => statSync(configFile)).toThrow();

      expect(await ok(['login', '--url', url, '--key', apiKey])).toContain(`Logged in to ${url}`);
      expect(statSync(configFile).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ url, apiKey });

      // The environment wins over the file: a refused key there is refused.
      const viaEnv = await weft(['runs', 'ls'], { WEFT_API_KEY: 'wk_nope' });
      expect(viaEnv.code).toBe(1);
      expect(viaEnv.stderr).toContain('Unauthorized');
    },
    TIMEOUT,
  );

  it(
    'applies examples/: plans creates, then finds everything unchanged, then updates an edit',
    async () => {
      const examples = readdirSync(join(work, 'examples')).filter((f) => f.endsWith('.json'));
      const names = examples.map(
        (file) =>
          (JSON.parse(readFileSync(join(work, 'examples', file), 'utf8')) as { name: string }).name,
      );

      const first = await ok(['apply', '-f', 'examples/']);
      for (const name of names) expect(first).toMatch(new RegExp(`^\\+ create ${name}  `, 'm'));
      expect(first).toContain(`Plan: ${names.length} to create.`);
      expect(first).toContain(
        `Applied: ${names.length} created, 0 updated, 0 unchanged, 0 failed.`,
      );

      const again = await ok(['apply', '-f', 'examples/']);
      expect(again).toContain(`Plan: ${names.length} unchanged.`);
      expect(again).not.toMatch(/^[+~] /m);

      const file = join(work, 'examples', 'uptime-check.json');
      const edited = { ...JSON.parse(readFileSync(file, 'utf8')), description: 'Edited in git.' };
      writeFileSync(file, JSON.stringify(edited, null, 2));
      const dry = await ok(['apply', '-f', join(work, 'examples'), '--dry-run']);
      expect(dry).toContain('~ update uptime-check (v1 → v2)');
      expect(dry).toContain(`Plan: 1 to update, ${names.length - 1} unchanged.`);
      const update = await ok(['apply', '-f', join(work, 'examples')]);
      expect(update).toContain('~ update uptime-check (v1 → v2)');
      expect(update).toContain('updated uptime-check (v2)');
      expect(await ok(['apply', '-f', file])).toContain('= unchanged uptime-check (v2)');
    },
    TIMEOUT,
  );

  let succeeded: string;
  let failed: string;

  it(
    'runs uptime-check and watches it succeed (exit code 0)',
    async () => {
      const input = JSON.stringify({ url: `${targetUrl}/health` });
      const result = await weft(['run', 'uptime-check', '--input', input, '--watch']);
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout).toMatch(
        /✓ probe succeeded[\s\S]*✓ verdict succeeded[\s\S]*run succeeded/,
      );
      expect(result.stdout).toContain('"healthy": true');
      expect(target.callsTo('/health')).toHaveLength(1);
      succeeded = /^run (\S+) of uptime-check v2$/m.exec(result.stdout)?.[1] ?? '';
      expect(succeeded).toMatch(/^[0-9a-f-]{36}$/);
    },
    TIMEOUT,
  );

  it(
    'watches a failing run to a non-zero exit code',
    async () => {
      const input = JSON.stringify({ url: `${targetUrl}/missing` });
      const result = await weft(['run', 'uptime-check', '--input', input, '--watch']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('✗ probe failed: http_status');
      expect(result.stderr).toMatch(
        /run \S+ failed in .*: http_status: .* answered 404 \(exit code 1\)/,
      );
      failed = /^run (\S+) of uptime-check/m.exec(result.stdout)?.[1] ?? '';
      expect(failed).toMatch(/^[0-9a-f-]{36}$/);
    },
    TIMEOUT,
  );

  it(
    'lists, reads, retries and cancels runs',
    async () => {
      const list = await ok(['runs', 'ls']);
      expect(list).toMatch(/^ID\s+WORKFLOW\s+STATUS\s+STARTED\s+DURATION$/m);
      expect(list).toMatch(new RegExp(`^${failed}\\s+uptime-check\\s+failed\\s`, 'm'));
      expect(list).toMatch(new RegExp(`^${succeeded}\\s+uptime-check\\s+succeeded\\s`, 'm'));

      const firstPage = await ok(['runs', 'ls', '--limit', '1']);
      const next = /^next: weft (runs ls --limit 1 --cursor \S+)/m.exec(firstPage)?.[1];
      expect(next).toBeDefined();
      expect(await ok(next!.split(' '))).toContain(succeeded);
      const all = JSON.parse(await ok(['runs', 'ls', '--limit', '1', '--all', '--json']));
      expect(all.items.map((run: { id: string }) => run.id)).toEqual([failed, succeeded]);
      const onlyFailed = JSON.parse(await ok(['runs', 'ls', '--status', 'failed', '--json']));
      expect(onlyFailed.items.map((run: { id: string }) => run.id)).toEqual([failed]);

      const shown = await ok(['runs', 'get', failed]);
      expect(shown).toMatch(/^status\s+failed$/m);
      expect(shown).toMatch(/^probe\s+http\.request\s+failed\s+1\s/m);
      expect(JSON.parse(await ok(['runs', 'get', succeeded, '--json']))).toMatchObject({
        id: succeeded,
        status: 'succeeded',
        output: { healthy: true, status: 200 },
      });

      // An ended run cannot be cancelled: the problem's title and detail, exit code 1.
      const refused = await weft(['runs', 'cancel', succeeded]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`Run not cancellable: run ${succeeded}`);

      const retry = await weft(['runs', 'retry', failed, '--watch']);
      expect(retry.code).toBe(1);
      expect(retry.stdout).toContain(`run ${failed} retrying`);
      expect(retry.stdout).toContain('run resumed (retry)');
      // The history before the retry is not shown again.
      expect(retry.stdout).not.toContain('run queued');

      // A run that ended before the stream opened is told from its history.
      const watched = await weft(['runs', 'watch', succeeded]);
      expect(watched.code).toBe(0);
      expect(watched.stdout).toMatch(/run queued[\s\S]*run succeeded/);
    },
    TIMEOUT,
  );

  it(
    'cancels a waiting run; watching it then exits non-zero',
    async () => {
      const slow = join(work, 'slow.weft.yaml');
      writeFileSync(
        slow,
        [
          'name: slow',
          'steps:',
          '  - id: pause',
          '    type: wait',
          '    with:',
          '      durationMs: 600000',
          '',
        ].join('\n'),
      );
      expect(await ok(['apply', '-f', slow])).toContain('+ create slow');
      const id = (await ok(['run', 'slow'])).trim();
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await ok(['runs', 'cancel', id])).toContain(`run ${id} cancelling`);
      const watched = await weft(['runs', 'watch', id]);
      expect(watched.code).toBe(1);
      expect(watched.stdout).toContain('run cancelled');
      expect(watched.stderr).toContain('cancelled');
    },
    TIMEOUT,
  );

  it.each(['json', 'yaml'])(
    'exports every workflow as %s, which applies back unchanged',
    async (format) => {
      const dir = join(work, `export-${format}`);
      const exported = await ok(['export', '--dir', dir, '--format', format]);
      const files = readdirSync(dir).sort();
      expect(files).toContain(`uptime-check.weft.${format}`);
      expect(files).toContain(`slow.weft.${format}`);
      expect(exported).toContain(`Exported ${files.length} workflows.`);
      const applied = await ok(['apply', '-f', dir]);
      expect(applied).toContain(`Plan: ${files.length} unchanged.`);
    },
    TIMEOUT,
  );

  it(
    'reports an invalid file with its name and every error path; exit code 1',
    async () => {
      const bad = join(work, 'bad.json');
      writeFileSync(
        bad,
        JSON.stringify({
          name: 'bad',
          steps: [
            { id: 'Probe-1', type: 'teleport' },
            { id: 'w', type: 'wait', with: { durationMs: 'soon' } },
          ],
        }),
      );
      const applied = await weft(['apply', '-f', bad, '-f', join(work, 'slow.weft.yaml')]);
      expect(applied.code).toBe(1);
      expect(applied.stdout).toContain('= unchanged slow');
      expect(applied.stderr).toContain(`${bad}: Workflow definition invalid`);
      for (const path of ['steps[0].id', 'steps[0].type', 'steps[1].with.durationMs']) {
        expect(applied.stderr).toMatch(
          new RegExp(`^  \\$\\.body\\.${path.replace(/[.[\]]/g, '\\$&')}: `, 'm'),
        );
      }

      // A dry run checks the file against the workflow schema, without sending it.
      const dry = await weft(['apply', '-f', bad, '--dry-run']);
      expect(dry.code).toBe(1);
      expect(dry.stdout).toContain(`! invalid ${bad}`);
      expect(dry.stdout).toMatch(/^ {4}\$\.steps\[0\]\.type: must be one of: transform, /m);
      expect(dry.stdout).toMatch(/^ {4}\$\.steps\[1\]\.with\.durationMs: /m);

      writeFileSync(join(work, 'broken.yaml'), 'name: [unclosed\n');
      const broken = await weft(['apply', '-f', join(work, 'broken.yaml')]);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`! invalid ${join(work, 'broken.yaml')}: not valid YAML`);
    },
    TIMEOUT,
  );
});
