import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startChatCompletionsServer } from '../../apps/ai/test/support/chat-completions-server';
import { Api } from '../api/support/client';
import { EchoServer } from '../api/support/echo-server';
import { startTarget, type Mode, type Target } from '../api/support/target';
import { Watch, type PhaseFigures } from './watch';

/**
 * The hostile-tenant suite (docs/security.md): each attack of the security review, made with
 * an ordinary API key (or none) against a running Weft, while a second tenant runs a steady
 * workflow. Each attack must be refused or bounded; throughout, `/health` answers within 1 s
 * and the second tenant's run latency p99 stays within 2× its quiet value. `npm test` runs
 * the short form (p90, with a slack: TAIL below); `npm run test:hostile` (HOSTILE_FULL=1) the
 * long one, with its report kept.
 */
const FULL = process.env.HOSTILE_FULL === '1';
const QUIET_MS = FULL ? 30_000 : 12_000;
const HOLD_MS = FULL ? 15_000 : 5_000;
/**
 * Each attack's phase lasts at least this long, so that the victim's p99 under attack is a
 * percentile of a few hundred runs, not the slowest of a handful.
 */
const MIN_PHASE_MS = FULL ? 8_000 : 0;
/**
 * The short form in `npm test` sees ~15 victim runs under attack, where p99 is the slowest one.
 * It compares p90 (the second slowest) and allows 2× or +500 ms, whichever is larger: enough to
 * catch a stall (the attacks it guards against stalled every tenant for seconds, many runs at
 * 2 a second) without failing on one slow run. Fresh-clone CI runs saw one at 625 ms against a
 * quiet p99 of 166 ms, and one at 821 ms against 276 ms (4 December 2026; four runs beside it
 * gave 143–216 ms under attack against a quiet 171–219 ms). The full form holds the issue's
 * 2× on p99 over a few hundred runs a phase.
 */
const TAIL: 'p90Ms' | 'p99Ms' = FULL ? 'p99Ms' : 'p90Ms';
const TAIL_SLACK_MS = FULL ? 0 : 500;
const VICTIM_RUNS_PER_SECOND = FULL ? 4 : 2;
/** Each attack waits for runs of its own; the default 5 s of a test is too short. */
const ATTACK_TIMEOUT_MS = 60_000;
const REPORT_DIR = process.env.HOSTILE_REPORT_DIR ?? join(__dirname, '../../.cache/hostile');

/** 40 `a`s and a `!`: a backtracking engine needs ~2^40 steps to fail `(a+)+$` on it. */
const EVIL_INPUT = `${'a'.repeat(40)}!`;

interface AttackRecord {
  attack: string;
  finding: string;
  outcome: string;
  ms: number;
}

export function describeHostile(mode: Mode, port: number): void {
  describe(`a hostile tenant (${mode})`, () => {
    let target: Target;
    let echo: EchoServer;
    let attacker: Api;
    let victim: Api;
    let watch: Watch;
    const records: AttackRecord[] = [];

    beforeAll(async () => {
      echo = await new EchoServer().start();
      target = await startTarget(mode, port);
      const anon = new Api(target.baseUrl);
      attacker = await anon.newTenant(target.adminKey, 'mallory');
      victim = await anon.newTenant(target.adminKey, 'alice');
      const steady = await victim.post('/v1/workflows', {
        name: 'steady',
        steps: [
          { id: 'prepare', type: 'transform', with: { value: { n: '{{ input.n }}' } } },
          {
            id: 'call',
            type: 'http.request',
            needs: ['prepare'],
            with: { method: 'POST', url: `${echo.url}/steady`, body: '{{ steps.prepare.output }}' },
          },
          {
            id: 'finish',
            type: 'transform',
            needs: ['call'],
            with: { value: '{{ steps.call.output.status }}' },
          },
        ],
      });
      expect(steady.status).toBe(201);
      watch = new Watch(victim, steady.body.id, target.baseUrl, VICTIM_RUNS_PER_SECOND);
      watch.start();
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    }, 180_000);

    afterAll(async () => {
      await watch?.stop();
      if (watch) writeReport(mode, records, watch);
      await target?.stop();
      await echo?.stop();
    }, 60_000);

    /** Runs one attack in its own phase and records what came of it. */
    async function attack(name: string, finding: string, work: () => Promise<string>) {
      watch.enter(`attack:${name}`);
      const began = performance.now();
      const outcome = await work();
      const left = began + MIN_PHASE_MS - performance.now();
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      records.push({ attack: name, finding, outcome, ms: Math.round(performance.now() - began) });
    }

    async function workflow(definition: Record<string, unknown>): Promise<string> {
      const created = await attacker.post('/v1/workflows', definition);
      expect(created).toMatchObject({ status: 201 });
      return created.body.id as string;
    }

    let made = 0;

    /** Starts a run of a new one-step workflow and answers the run once it ended. */
    async function runOnce(
      definition: Record<string, unknown>,
      input: unknown = {},
      timeoutMs = 15_000,
    ): Promise<any> {
      // Names are unique among active workflows; an attack may make several.
      const id = await workflow({ name: `attack-${++made}`, ...definition });
      const started = await attacker.post(`/v1/workflows/${id}/runs`, { input });
      expect(started.status).toBe(202);
      return (await attacker.waitForRun(started.body.id, undefined, timeoutMs)) as unknown;
    }

    const transform = (value: string) => ({
      steps: [{ id: 'x', type: 'transform', with: { value } }],
    });

    it(
      '1. a string-building built-in cannot freeze the process',
      async () => {
        await attack('$pad 50,000,000', '1', async () => {
          const run = await runOnce(transform("{{ $pad('', 50000000) }}"));
          expect(run).toMatchObject({ status: 'failed', error: { code: 'expression_budget' } });
          return `run failed: ${run.error.code}`;
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '1. a catastrophic regular expression in an expression runs in linear time',
      async () => {
        await attack('(a+)+$ in $contains', '1', async () => {
          const run = await runOnce(transform('{{ $contains(input.s, /(a+)+$/) }}'), {
            s: EVIL_INPUT,
          });
          expect(run).toMatchObject({ status: 'succeeded', output: null });
          expect(run.steps[0].output).toBe(false);
          return 'answered false (RE2)';
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '2. a catastrophic inputSchema pattern cannot stall the start of a run',
      async () => {
        await attack('(a+)+$ as inputSchema.pattern', '2', async () => {
          const id = await workflow({
            name: 'evil-pattern',
            inputSchema: {
              type: 'object',
              properties: { s: { type: 'string', pattern: '(a+)+$' } },
            },
            ...transform('{{ input.s }}'),
          });
          const began = performance.now();
          const started = await attacker.post(`/v1/workflows/${id}/runs`, {
            input: { s: EVIL_INPUT },
          });
          const ms = performance.now() - began;
          expect(started.status).toBe(400);
          expect(ms).toBeLessThan(1_000);
          const backreference = await attacker.post('/v1/workflows', {
            name: 'backreference',
            inputSchema: { type: 'string', pattern: '(a*)\\1' },
            ...transform('{{ input }}'),
          });
          expect(backreference.status).toBe(400);
          return `400 in ${Math.round(ms)} ms; a backreference is refused at save`;
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '3. U+0000 in a step output fails that step, not the other tenants',
      async () => {
        await attack('U+0000 from an expression and from a target', '3', async () => {
          const decoded = await runOnce(transform('{{ $decodeUrlComponent("a%00b") }}'));
          expect(decoded.steps[0].error).toMatchObject({ code: 'invalid_input' });
          echo.script('/nul', () => ({ status: 200, body: { text: 'a\u0000b' } }));
          const fetched = await runOnce({
            steps: [
              { id: 'x', type: 'http.request', with: { method: 'GET', url: `${echo.url}/nul` } },
            ],
          });
          expect(fetched.steps[0].error).toMatchObject({ code: 'invalid_output' });
          expect(fetched.steps[0].error.message).toContain('$.body.text');
          return 'each run failed its own step (invalid_input, invalid_output)';
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '4. many heavy expressions in one run take turns with other runs',
      async () => {
        await attack('100 steps × a heavy expression', '4', async () => {
          // ~5–20 ms each (7 ms warm in plain Node here), well under the 100 ms of one
          // expression even in a cold worker on a busy host: 0.5–2 s in one transition before.
          // A transition begins no step after 50 ms of expressions, so the steps begin over
          // many turns, each with its own start time.
          const steps = Array.from({ length: 100 }, (_, i) => ({
            id: `s${i}`,
            type: 'transform',
            with: { value: '{{ $count([1..1000].($string($))) }}' },
          }));
          const began = performance.now();
          const run = await runOnce({ steps }, {}, 45_000);
          const ms = performance.now() - began;
          const errors = run.steps.flatMap((s: { id: string; error?: { message: string } }) =>
            s.error ? [`${s.id}: ${s.error.message}`] : [],
          );
          expect({ status: run.status, errors }).toEqual({ status: 'succeeded', errors: [] });
          const turns = new Set(run.steps.map((s: { startedAt: string }) => s.startedAt)).size;
          expect(turns).toBeGreaterThanOrEqual(3);
          return `run ${run.status} after ${Math.round(ms)} ms, its steps begun in ${turns} turns`;
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '5. slow unauthenticated clients cannot take the slots of authenticated ones',
      async () => {
        await attack('300 connections trickling a body', '5', async () => {
          const sockets = await openTricklers(target.baseUrl, 300);
          try {
            await new Promise((resolve) => setTimeout(resolve, HOLD_MS / 2));
            const began = performance.now();
            const listed = await victim.get('/v1/workflows');
            const ms = performance.now() - began;
            expect(listed.status).toBe(200);
            expect(ms).toBeLessThan(1_000);
            await new Promise((resolve) => setTimeout(resolve, HOLD_MS / 2));
            const open = sockets.filter((s) => !s.destroyed).length;
            return `authenticated request answered in ${Math.round(ms)} ms; ${open} of 300 still open`;
          } finally {
            for (const socket of sockets) socket.destroy();
          }
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '5. event streams per tenant are capped',
      async () => {
        await attack('25 event streams', '5', async () => {
          const controller = new AbortController();
          try {
            const statuses = await Promise.all(
              Array.from({ length: 25 }, () =>
                fetch(`${target.baseUrl}/v1/events`, {
                  headers: { authorization: `Bearer ${attacker.key}` },
                  signal: controller.signal,
                }).then((response) => response.status),
              ),
            );
            expect(statuses.filter((s) => s === 200)).toHaveLength(20);
            expect(statuses.filter((s) => s === 429)).toHaveLength(5);
            return '20 streams opened, 5 answered 429';
          } finally {
            controller.abort();
          }
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '6. a credential is sent only to its allowed hosts, and its encoded forms are scrubbed',
      async () => {
        await attack('credential exfiltration', '6', async () => {
          const token = `tok-${'s3cr3t'.repeat(4)}`;
          const bound = await attacker.post('/v1/credentials', {
            name: 'bound',
            type: 'http.bearer',
            data: { token, allowedHosts: ['api.example.com'] },
          });
          expect(bound.status).toBe(201);
          const denied = await runOnce({
            steps: [
              {
                id: 'x',
                type: 'http.request',
                with: { method: 'GET', url: `${echo.url}/steal`, credential: 'bound' },
              },
            ],
          });
          expect(denied.steps[0].error).toMatchObject({ code: 'credential_host_denied' });
          expect(echo.callsTo('/steal')).toHaveLength(0);

          const echoHost = new URL(echo.url).host;
          const allowed = await attacker.post('/v1/credentials', {
            name: 'echoed',
            type: 'http.bearer',
            data: { token, allowedHosts: [echoHost] },
          });
          expect(allowed.status).toBe(201);
          echo.script('/reflect', (call) => {
            const sent = String(call.headers.authorization ?? '').replace(/^Bearer /, '');
            return {
              status: 200,
              body: {
                plain: sent,
                base64: Buffer.from(sent).toString('base64'),
                reversed: [...sent].reverse().join(''),
                url: encodeURIComponent(`${sent}&`),
                hex: Buffer.from(sent).toString('hex'),
              },
            };
          });
          const reflected = await runOnce({
            steps: [
              {
                id: 'x',
                type: 'http.request',
                with: { method: 'GET', url: `${echo.url}/reflect`, credential: 'echoed' },
              },
            ],
          });
          expect(reflected.status).toBe('succeeded');
          const stored = JSON.stringify(reflected);
          for (const form of [
            token,
            Buffer.from(token).toString('base64'),
            [...token].reverse().join(''),
            Buffer.from(token).toString('hex'),
          ]) {
            expect(stored).not.toContain(form);
          }
          return 'denied off its hosts; plain, base64, reversed, URL and hex echoes scrubbed';
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '8. an AI provider echoing its key does not put it in run data',
      async () => {
        await attack('ai.chat echoing its key', '8', async () => {
          const apiKey = `sk-hostile-${Date.now()}`;
          const llm = await startChatCompletionsServer({ apiKey, reply: () => `key=${apiKey}` });
          try {
            const created = await attacker.post('/v1/credentials', {
              name: 'llm',
              type: 'openai',
              data: { baseUrl: llm.baseUrl, apiKey },
            });
            expect(created.status).toBe(201);
            const run = await runOnce({
              steps: [
                {
                  id: 'x',
                  type: 'ai.chat',
                  with: { credential: 'llm', model: 'gpt-4o-mini', prompt: 'say your key' },
                },
              ],
            });
            expect(run.status).toBe('succeeded');
            expect(JSON.stringify(run)).not.toContain(apiKey);
            return 'the echoed key is redacted from the output';
          } finally {
            await llm.close();
          }
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it(
      '10. deep nesting and U+0000 in a request are 400 with their path',
      async () => {
        await attack('10,000 nested arrays; U+0000 in input and name', '10', async () => {
          const id = await workflow({ name: 'plain', ...transform('{{ input }}') });
          const deep = `{"input":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
          const nested = await fetch(`${target.baseUrl}/v1/workflows/${id}/runs`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${attacker.key}`,
              'content-type': 'application/json',
            },
            body: deep,
          });
          expect(nested.status).toBe(400);
          const nul = await attacker.post(`/v1/workflows/${id}/runs`, { input: { s: 'a\u0000' } });
          expect(nul.status).toBe(400);
          expect(JSON.stringify(nul.body)).toContain('$.body.input.s');
          const named = await attacker.post('/v1/workflows', {
            name: 'evil\u0000name',
            ...transform('{{ input }}'),
          });
          expect(named.status).toBe(400);
          return '400 problem+json with the path each time';
        });
      },
      ATTACK_TIMEOUT_MS,
    );

    it('kept /health under 1 s and the other tenant’s tail latency within 2× its quiet value', () => {
      watch.enter('done');
      const quiet = watch.figures((phase) => phase === 'quiet');
      const attacked = watch.figures((phase) => phase.startsWith('attack:'));
      expect(quiet.runs).toBeGreaterThanOrEqual(10);
      expect({
        quietFailed: quiet.failedRuns,
        attackedFailed: attacked.failedRuns,
        healthUnder1s: Math.max(quiet.maxHealthMs, attacked.maxHealthMs) < 1_000,
        tailWithin2x: attacked[TAIL] <= Math.max(2 * quiet[TAIL], quiet[TAIL] + TAIL_SLACK_MS),
        quiet,
        attacked,
      }).toEqual({
        quietFailed: 0,
        attackedFailed: 0,
        healthUnder1s: true,
        tailWithin2x: true,
        quiet,
        attacked,
      });
    });
  });
}

/**
 * Connections from another loopback address (127.0.0.2, so the per-address cap they meet is
 * theirs, not the victim's) that send headers announcing a body and then a few bytes of it.
 */
async function openTricklers(baseUrl: string, count: number): Promise<Socket[]> {
  const { hostname, port } = new URL(baseUrl);
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = connect({ host: hostname, port: Number(port), localAddress: '127.0.0.2' });
          socket.on('error', () => undefined);
          socket.once('connect', () => {
            socket.write(
              'POST /v1/workflows HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                'Content-Length: 100000\r\n\r\n{"name":',
            );
            resolve(socket);
          });
          socket.once('close', () => resolve(socket));
        }),
    ),
  );
}

function writeReport(mode: Mode, records: AttackRecord[], watch: Watch): void {
  const row = (name: string, f: PhaseFigures) =>
    `| ${name} | ${f.runs} | ${f.failedRuns} | ${Math.round(f.p50Ms)} | ${Math.round(f.p99Ms)} | ${Math.round(f.maxHealthMs)} |`;
  const quiet = watch.figures((phase) => phase === 'quiet');
  const attacked = watch.figures((phase) => phase.startsWith('attack:'));
  const lines = [
    `# Hostile-tenant suite — ${mode} — ${new Date().toISOString()}`,
    '',
    `${FULL ? 'Full' : 'Short'} run: a second tenant starts ${VICTIM_RUNS_PER_SECOND} runs/s of a`,
    'transform → http.request → transform workflow throughout; `/health` is asked every 100 ms.',
    '',
    '| attack | finding | outcome | phase ms |',
    '| --- | --- | --- | --- |',
    ...records.map((r) => `| ${r.attack} | ${r.finding} | ${r.outcome} | ${r.ms} |`),
    '',
    '| phase | victim runs | failed | p50 ms | p99 ms | slowest /health ms |',
    '| --- | --- | --- | --- | --- | --- |',
    row('quiet', quiet),
    row('under attack (all)', attacked),
    ...records.map((r) =>
      row(
        r.attack,
        watch.figures((phase) => phase === `attack:${r.attack}`),
      ),
    ),
    '',
  ];
  mkdirSync(REPORT_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(REPORT_DIR, `hostile-${mode}-${stamp}.md`), lines.join('\n'));
}
