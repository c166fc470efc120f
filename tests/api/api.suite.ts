import * as amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { Client as PgClient } from 'pg';
import { SMTPServer } from 'smtp-server';
import { METRICS, type MetricService } from '@weft/runtime';
import { signWebhook } from '@weft/secrets';
import { startChatCompletionsServer } from '../../apps/ai/test/support/chat-completions-server';
import { Api, until } from './support/client';
import { EchoServer } from './support/echo-server';
import { startTarget, type Mode, type Target } from './support/target';

/**
 * The black-box contract of SPEC §2–§4 through the HTTP API only, run against standalone
 * mode and against the four services on the real servers.
 */
/** The `data:` of each event of a `text/event-stream` body, checked against its `id:`. */
function sseEvents(body: string): { seq: number; type: string }[] {
  return body
    .split('\n\n')
    .filter((frame) => frame.includes('\ndata: '))
    .map((frame) => {
      const id = /^id: (\d+)$/m.exec(frame)?.[1];
      const event = JSON.parse(/^data: (.+)$/m.exec(frame)![1]!) as { seq: number; type: string };
      expect(Number(id)).toBe(event.seq);
      return event;
    });
}

export function describeApi(mode: Mode, port: number): void {
  describe(`HTTP API (${mode})`, () => {
    let target: Target;
    let echo: EchoServer;
    let api: Api & { tenantId: string };
    let anon: Api;

    beforeAll(async () => {
      echo = await new EchoServer().start();
      target = await startTarget(mode, port);
      anon = new Api(target.baseUrl);
      api = await anon.newTenant(target.adminKey);
    }, 120_000);

    afterAll(async () => {
      await target?.stop();
      await echo?.stop();
    }, 60_000);

    const threeSteps = (name = 'three-steps') => ({
      name,
      steps: [
        { id: 'prepare', type: 'transform', with: { value: { who: '{{ input.name }}' } } },
        {
          id: 'call',
          type: 'http.request',
          needs: ['prepare'],
          with: { method: 'POST', url: `${echo.url}/hello`, body: '{{ steps.prepare.output }}' },
        },
        {
          id: 'finish',
          type: 'transform',
          needs: ['call'],
          with: { value: '{{ steps.call.output.status }}' },
        },
      ],
      output: "{{ { 'status': steps.finish.output, 'who': steps.prepare.output.who } }}",
    });

    /** Starts a run of the workflow with `body` and answers it once it ended. */
    async function startAndWait(
      workflowId: string,
      body: unknown,
      timeoutMs = 20_000,
    ): Promise<any> {
      const started = await api.post(`/v1/workflows/${workflowId}/runs`, body);
      return api.waitForRun(started.body.id as string, undefined, timeoutMs);
    }

    async function createWorkflow(definition: unknown, as: Api = api): Promise<string> {
      const created = await as.post('/v1/workflows', definition);
      expect(created.status).toBe(201);
      return created.body.id as string;
    }

    describe('tenants and keys', () => {
      it('needs the admin key to create a tenant, and a key for everything else', async () => {
        expect((await anon.post('/v1/tenants', { name: 'x' })).status).toBe(401);
        expect((await anon.as('wk_nope').post('/v1/tenants', { name: 'x' })).status).toBe(401);
        const noKey = await anon.get('/v1/workflows');
        expect(noKey.status).toBe(401);
        expect(noKey.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect((await api.get('/v1/workflows')).status).toBe(200);
      });
    });

    describe('API keys', () => {
      /** Polls `request` until it answers `status`; fails past `withinMs`. */
      async function answersWithin(
        request: () => Promise<{ status: number; body: any }>,
        status: number,
        withinMs: number,
      ): Promise<{ status: number; body: any }> {
        const deadline = Date.now() + withinMs;
        for (;;) {
          const reply = await request();
          if (reply.status === status) return reply;
          if (Date.now() > deadline) throw new Error(`still ${reply.status} after ${withinMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }

      it('starts a tenant with one `default` key and lists keys without the key', async () => {
        const owner = await anon.newTenant(target.adminKey, 'keys-list');
        const listed = await owner.get('/v1/api-keys');
        expect(listed.status).toBe(200);
        expect(listed.body.items).toEqual([
          {
            id: expect.any(String),
            name: 'default',
            scopes: ['write'],
            prefix: owner.key!.slice(0, 10),
            createdAt: expect.any(String),
            expiresAt: null,
            lastUsedAt: expect.any(String), // the list itself was a use
          },
        ]);
        const created = await owner.post('/v1/api-keys', { name: 'ci' });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ name: 'ci', scopes: ['write'], expiresAt: null });
        expect(created.body.key).toMatch(/^wk_/);
        const again = await owner.get('/v1/api-keys');
        expect(again.body.items.map((key: { name: string }) => key.name)).toEqual([
          'default',
          'ci',
        ]);
        for (const secret of [owner.key!, created.body.key as string]) {
          expect(JSON.stringify(again.body)).not.toContain(secret.slice(3));
        }
        // The second key works as the first, for the same tenant.
        const ci = anon.as(created.body.key);
        const id = await createWorkflow(threeSteps('made-with-ci'), ci);
        expect((await owner.get(`/v1/workflows/${id}`)).status).toBe(200);
      });

      it('lets a read key GET, event streams too, and refuses it anything else', async () => {
        const owner = await anon.newTenant(target.adminKey, 'keys-scopes');
        const created = await owner.post('/v1/api-keys', { name: 'dashboard', scopes: ['read'] });
        expect(created.status).toBe(201);
        expect(created.body.scopes).toEqual(['read']);
        const reader = anon.as(created.body.key);
        const id = await createWorkflow(threeSteps('watched'), owner);
        const runId = (await owner.post(`/v1/workflows/${id}/runs`, {})).body.id as string;
        expect((await reader.get('/v1/workflows')).status).toBe(200);
        expect((await reader.get(`/v1/runs/${runId}`)).status).toBe(200);
        const events = await reader.get(`/v1/runs/${runId}/events`, {
          accept: 'application/json',
        });
        expect(events.status).toBe(200);
        expect((await reader.get('/v1/api-keys')).status).toBe(200);

        for (const refused of [
          await reader.post('/v1/workflows', threeSteps('not-allowed')),
          await reader.post(`/v1/workflows/${id}/runs`, {}),
          await reader.post('/v1/api-keys', { name: 'escalate', scopes: ['write'] }),
          await reader.delete(`/v1/api-keys/${created.body.id}`),
        ]) {
          expect(refused.status).toBe(403);
          expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(refused.body).toMatchObject({
            type: 'urn:weft:problem:insufficient-scope',
            status: 403,
            detail: expect.stringContaining('write'),
          });
        }
        expect((await reader.get('/v1/workflows')).body.items).toHaveLength(1);
      });

      it('refuses a revoked key within 1 s, saying so, and gives its name back', async () => {
        const owner = await anon.newTenant(target.adminKey, 'keys-revoke');
        const created = await owner.post('/v1/api-keys', { name: 'deploy' });
        const deploy = anon.as(created.body.key);
        expect((await deploy.get('/v1/workflows')).status).toBe(200);
        const taken = await owner.post('/v1/api-keys', { name: 'deploy' });
        expect(taken.status).toBe(409);
        expect(taken.body.type).toBe('urn:weft:problem:api-key-name-taken');

        // The stack runs one gateway: the one that revoked, which refuses the key at once;
        // other replicas would within 1 s (docs/reference/api.md#api-keys), which is what this allows.
        const revoked = await owner.delete(`/v1/api-keys/${created.body.id}`);
        expect(revoked.status).toBe(204);
        const refused = await answersWithin(() => deploy.get('/v1/workflows'), 401, 1_000);
        expect(refused.body).toMatchObject({
          type: 'urn:weft:problem:unauthorized',
          detail: 'the API key was revoked',
        });
        expect((await owner.delete(`/v1/api-keys/${created.body.id}`)).status).toBe(404);
        const listed = await owner.get('/v1/api-keys');
        expect(listed.body.items.map((key: { name: string }) => key.name)).toEqual(['default']);

        const renewed = await owner.post('/v1/api-keys', { name: 'deploy' });
        expect(renewed.status).toBe(201);
        expect((await anon.as(renewed.body.key).get('/v1/workflows')).status).toBe(200);
        // Another tenant cannot revoke it.
        const other = await anon.newTenant(target.adminKey, 'keys-other');
        expect((await other.delete(`/v1/api-keys/${renewed.body.id}`)).status).toBe(404);
      });

      it('refuses an expired key, naming when it expired, and an expiry in the past', async () => {
        const owner = await anon.newTenant(target.adminKey, 'keys-expiry');
        const past = await owner.post('/v1/api-keys', {
          name: 'born-expired',
          expiresAt: new Date(Date.now() - 60_000).toISOString(),
        });
        expect(past.status).toBe(400);
        expect(past.body.errors).toEqual([
          { path: '$.body.expiresAt', message: expect.any(String) },
        ]);

        const expiresAt = new Date(Date.now() + 2_000).toISOString();
        const created = await owner.post('/v1/api-keys', { name: 'brief', expiresAt });
        expect(created.status).toBe(201);
        expect(created.body.expiresAt).toBe(expiresAt);
        const brief = anon.as(created.body.key);
        expect((await brief.get('/v1/workflows')).status).toBe(200);
        const refused = await answersWithin(() => brief.get('/v1/workflows'), 401, 5_000);
        expect(refused.body).toMatchObject({
          type: 'urn:weft:problem:unauthorized',
          detail: `the API key expired at ${expiresAt}`,
        });
        // Still listed, so that it can be seen and revoked.
        const listed = await owner.get('/v1/api-keys');
        expect(listed.body.items.map((key: { name: string }) => key.name)).toEqual([
          'default',
          'brief',
        ]);
      });
    });

    describe('definitions', () => {
      it('reports every problem of a bad definition at once, with paths', async () => {
        const bad = await api.post('/v1/workflows', {
          name: '',
          steps: [
            { id: 'A', type: 'transform', with: { value: 1 } },
            { id: 'b', type: 'nope' },
            { id: 'c', type: 'transform', needs: ['d', 'ghost'], with: { value: 1 } },
            { id: 'd', type: 'transform', needs: ['c'], with: { value: 1 } },
          ],
        });
        expect(bad.status).toBe(400);
        expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const paths = (bad.body.errors as { path: string; message: string }[]).map((e) => e.path);
        expect(paths).toEqual(
          expect.arrayContaining([
            '$.body.name',
            '$.body.steps[0].id',
            '$.body.steps[1].type',
            '$.body.steps[2].needs[1]',
          ]),
        );
        const cycle = (bad.body.errors as { message: string }[]).find((e) =>
          e.message.includes('cycle'),
        );
        expect(cycle?.message).toMatch(/c → d → c|d → c → d/);
      });

      it('versions a workflow on update and keeps old versions readable', async () => {
        const id = await createWorkflow(threeSteps('versioned'));
        const updated = await api.put(`/v1/workflows/${id}`, threeSteps('versioned-2'));
        expect(updated.status).toBe(200);
        expect(updated.body).toMatchObject({ id, version: 2, name: 'versioned-2' });
        expect((await api.get(`/v1/workflows/${id}`)).body.version).toBe(2);
        const v1 = await api.get(`/v1/workflows/${id}/versions/1`);
        expect(v1.body).toMatchObject({ version: 1, name: 'versioned' });
        expect((await api.get(`/v1/workflows/${id}/versions/3`)).status).toBe(404);
      });

      it('keeps names unique among active workflows: 409, found by name, freed by archiving', async () => {
        const first = await createWorkflow(threeSteps('unique-name'));
        const again = await api.post('/v1/workflows', threeSteps('unique-name'));
        expect(again).toMatchObject({
          status: 409,
          body: { type: 'urn:weft:problem:workflow-name-taken' },
        });
        const other = await createWorkflow(threeSteps('other-name'));
        const renamed = await api.put(`/v1/workflows/${other}`, threeSteps('unique-name'));
        expect(renamed.body.type).toBe('urn:weft:problem:workflow-name-taken');
        const found = await api.get('/v1/workflows?name=unique-name');
        expect(found.body.items.map((w: { id: string }) => w.id)).toEqual([first]);
        expect((await api.get('/v1/workflows?name=nobody')).body.items).toEqual([]);
        expect((await api.delete(`/v1/workflows/${first}`)).status).toBe(204);
        const reused = await createWorkflow(threeSteps('unique-name'));
        expect((await api.get('/v1/workflows?name=unique-name')).body.items).toEqual([
          expect.objectContaining({ id: reused, version: 1 }),
        ]);
      });

      it('takes a definition as YAML, and says where YAML is not valid', async () => {
        const send = (method: string, path: string, body: string) =>
          fetch(`${target.baseUrl}${path}`, {
            method,
            headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/yaml' },
            body,
          });
        const yaml = [
          'name: from-yaml',
          'steps:',
          '  - id: greet',
          '    type: transform',
          "    with: { value: '{{ input.name }}' }",
        ].join('\n');
        const created = await send('POST', '/v1/workflows', yaml);
        expect(created.status).toBe(201);
        const { id } = (await created.json()) as { id: string };
        const again = await send('PUT', `/v1/workflows/${id}`, yaml);
        expect(again.status).toBe(200);
        expect(((await again.json()) as { version: number }).version).toBe(1);
        const broken = await send('POST', '/v1/workflows', 'name: [unclosed');
        expect(broken.status).toBe(400);
        expect(((await broken.json()) as { detail: string }).detail).toMatch(/not valid YAML/);
        expect((await send('POST', '/v1/credentials', 'name: x')).status).toBe(415);
      });

      it('answers an unchanged definition with the same version, so applying a file is idempotent', async () => {
        const definition = threeSteps('applied');
        const id = await createWorkflow(definition);
        const same = await api.put(`/v1/workflows/${id}`, definition);
        expect(same).toMatchObject({ status: 200, body: { id, version: 1 } });
        // Key order and defaults written out make no difference either.
        const reordered = {
          output: definition.output,
          steps: definition.steps.map((step) => ({ needs: [], ...step })),
          name: definition.name,
          triggers: [],
        };
        expect((await api.put(`/v1/workflows/${id}`, reordered)).body.version).toBe(1);
        const changed = await api.put(`/v1/workflows/${id}`, { ...definition, output: '{{ 1 }}' });
        expect(changed.body.version).toBe(2);
      });

      it('archives a workflow: no new runs, history kept', async () => {
        const id = await createWorkflow(threeSteps('archived'));
        expect((await api.delete(`/v1/workflows/${id}`)).status).toBe(204);
        const run = await api.post(`/v1/workflows/${id}/runs`, { input: {} });
        expect(run.status).toBe(409);
        expect(run.body.type).toBe('urn:weft:problem:workflow-archived');
        expect((await api.get(`/v1/workflows/${id}`)).body.archivedAt).not.toBeNull();
      });
    });

    describe('runs', () => {
      it('runs a three-step workflow across the services to its output', async () => {
        const id = await createWorkflow(threeSteps());
        const started = await api.post(`/v1/workflows/${id}/runs`, { input: { name: 'Ada' } });
        expect(started.status).toBe(202);
        expect(started.body).toMatchObject({
          workflowId: id,
          workflowVersion: 1,
          status: 'queued',
        });
        // Readable at once (SPEC §3).
        expect((await api.get(`/v1/runs/${started.body.id}`)).status).toBe(200);
        const run = await api.waitForRun(started.body.id);
        expect(run).toMatchObject({
          status: 'succeeded',
          output: { status: 200, who: 'Ada' },
          error: null,
        });
        expect(run.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
          ['prepare', 'succeeded'],
          ['call', 'succeeded'],
          ['finish', 'succeeded'],
        ]);
        const call = echo.callsTo('/hello').at(-1)!;
        expect(JSON.parse(call.body)).toEqual({ who: 'Ada' });
        expect(call.headers['idempotency-key']).toBe(`${run.id}:call`);
      });

      it('checks a run’s input against the workflow’s inputSchema', async () => {
        const id = await createWorkflow({
          ...threeSteps('typed-input'),
          inputSchema: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' } },
          },
        });
        const bad = await api.post(`/v1/workflows/${id}/runs`, { input: { name: 42 } });
        expect(bad.status).toBe(400);
        expect(bad.body.errors).toEqual([
          { path: '$.body.input.name', message: expect.any(String) },
        ]);
        expect((await api.post(`/v1/workflows/${id}/runs`, { input: { name: 'ok' } })).status).toBe(
          202,
        );
      });

      it('keeps one idempotency key across retries of a step', async () => {
        echo.script('/flaky', (_call, n) => ({ status: n < 3 ? 503 : 200, body: { n } }));
        const id = await createWorkflow({
          name: 'flaky',
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: { method: 'GET', url: `${echo.url}/flaky` },
              retry: { maxAttempts: 3, initialDelayMs: 50, backoff: 'fixed' },
            },
          ],
        });
        const started = await api.post(`/v1/workflows/${id}/runs`, {});
        const run = await api.waitForRun(started.body.id);
        expect(run.status).toBe('succeeded');
        expect(run.steps[0]).toMatchObject({
          status: 'succeeded',
          attempts: 3,
          output: { status: 200 },
        });
        const keys = echo.callsTo('/flaky').map((c) => c.headers['idempotency-key']);
        expect(keys).toEqual([`${run.id}:call`, `${run.id}:call`, `${run.id}:call`]);
      });

      it('retries only retryable failures: a 404 once, a 503 after its Retry-After', async () => {
        echo.script('/missing', () => ({ status: 404 }));
        echo.script('/busy', (_call, n) => ({
          status: n === 1 ? 503 : 200,
          headers: n === 1 ? { 'retry-after': '1' } : undefined,
        }));
        const call = (id: string, path: string) => ({
          id,
          type: 'http.request',
          with: { method: 'GET', url: `${echo.url}${path}` },
          retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 5_000 },
          onError: 'continue',
        });
        const id = await createWorkflow({
          name: 'retryable',
          steps: [call('missing', '/missing'), call('busy', '/busy')],
        });
        const started = await api.post(`/v1/workflows/${id}/runs`, {});
        const run = await api.waitForRun(started.body.id);
        expect(run.steps[0]).toMatchObject({
          status: 'failed',
          attempts: 1,
          error: { code: 'http_status', retryable: false },
        });
        expect(echo.callsTo('/missing')).toHaveLength(1);
        expect(run.steps[1]).toMatchObject({ status: 'succeeded', attempts: 2 });
        const [first, second] = echo.callsTo('/busy');
        expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
      });

      it('retries a failed run from its failed steps without re-running succeeded ones', async () => {
        let healthy = false;
        echo.script('/first', () => ({ status: 200 }));
        echo.script('/second', () => ({ status: healthy ? 200 : 500 }));
        const id = await createWorkflow({
          name: 'resume',
          steps: [
            {
              id: 'first',
              type: 'http.request',
              with: { method: 'POST', url: `${echo.url}/first` },
            },
            {
              id: 'second',
              type: 'http.request',
              needs: ['first'],
              with: { method: 'POST', url: `${echo.url}/second` },
            },
          ],
        });
        const started = await api.post(`/v1/workflows/${id}/runs`, {});
        const failed = await api.waitForRun(started.body.id);
        expect(failed).toMatchObject({ status: 'failed', error: { stepId: 'second' } });
        healthy = true;
        expect((await api.post(`/v1/runs/${failed.id}/retry`)).status).toBe(202);
        const run = await api.waitForRun(failed.id, (r) => r.status === 'succeeded');
        expect(run.steps.map((s: { attempts: number }) => s.attempts)).toEqual([1, 2]);
        expect(
          echo.callsTo('/first').filter((c) => c.headers['idempotency-key'] === `${run.id}:first`),
        ).toHaveLength(1);
        // Succeeded: only a failed run retries.
        const again = await api.post(`/v1/runs/${run.id}/retry`);
        expect(again.status).toBe(409);
        expect(again.body.type).toBe('urn:weft:problem:run-not-retryable');
      });

      it('starts one run per idempotency key', async () => {
        const id = await createWorkflow(threeSteps('idempotent'));
        const key = { 'idempotency-key': `order-${Date.now()}` };
        const first = await api.post(`/v1/workflows/${id}/runs`, { input: { name: 'a' } }, key);
        const second = await api.post(`/v1/workflows/${id}/runs`, { input: { name: 'a' } }, key);
        expect(first.status).toBe(202);
        expect(second.status).toBe(200);
        expect(second.body.id).toBe(first.body.id);
      });

      it('pages through runs newest first without gaps or duplicates', async () => {
        const id = await createWorkflow({
          name: 'many',
          steps: [{ id: 'only', type: 'transform', with: { value: 1 } }],
        });
        const ids: string[] = [];
        for (let i = 0; i < 23; i++) {
          ids.push((await api.post(`/v1/workflows/${id}/runs`, {})).body.id);
        }
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const query: string = `/v1/runs?workflowId=${id}&limit=5${cursor ? `&cursor=${cursor}` : ''}`;
          const page = await api.get(query);
          expect(page.status).toBe(200);
          seen.push(...page.body.items.map((r: { id: string }) => r.id));
          cursor = page.body.nextCursor;
        } while (cursor);
        expect(seen).toEqual([...ids].reverse());
        const bad = await api.get('/v1/runs?limit=500');
        expect(bad.status).toBe(400);
        expect(bad.body.errors[0].path).toMatch(/limit/);
      });

      it('cancels a waiting run', async () => {
        const id = await createWorkflow({
          name: 'slow',
          steps: [{ id: 'pause', type: 'wait', with: { durationMs: 60_000 } }],
        });
        const started = await api.post(`/v1/workflows/${id}/runs`, {});
        await api.waitForRun(started.body.id, (r) => r.steps[0].status === 'waiting');
        expect((await api.post(`/v1/runs/${started.body.id}/cancel`)).status).toBe(202);
        const run = await api.waitForRun(started.body.id);
        expect(run).toMatchObject({ status: 'cancelled', steps: [{ status: 'cancelled' }] });
        const again = await api.post(`/v1/runs/${run.id}/cancel`);
        expect(again.status).toBe(409);
        expect(again.body.type).toBe('urn:weft:problem:run-not-cancellable');
      });

      it('cancels an in-flight HTTP step: the run ends cancelled and the connection is closed', async () => {
        echo.script('/slow', () => ({ status: 200, delayMs: 60_000 }));
        const id = await createWorkflow({
          name: 'hanging call',
          steps: [
            {
              id: 'call',
              type: 'http.request',
              timeoutMs: 120_000,
              with: { method: 'GET', url: `${echo.url}/slow` },
            },
          ],
        });
        const started = await api.post(`/v1/workflows/${id}/runs`, {});
        await until(() => echo.callsTo('/slow').length === 1, 20_000);
        const cancelledAt = Date.now();
        expect((await api.post(`/v1/runs/${started.body.id}/cancel`)).status).toBe(202);
        const run = await api.waitForRun(started.body.id);
        expect(run).toMatchObject({ status: 'cancelled', steps: [{ status: 'cancelled' }] });
        await until(() => echo.closed.includes('/slow'), 5_000);
        expect(Date.now() - cancelledAt).toBeLessThan(5_000);
      });

      it('streams a run’s events until it ends', async () => {
        const id = await createWorkflow(threeSteps('streamed'));
        const started = await api.post(`/v1/workflows/${id}/runs`, { input: { name: 'sse' } });
        const response = await fetch(`${target.baseUrl}/v1/runs/${started.body.id}/events`, {
          headers: { authorization: `Bearer ${api.key}` },
          signal: AbortSignal.timeout(20_000),
        });
        expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const live = sseEvents(await response.text());
        expect(live.at(-1)?.type).toBe('run.succeeded');
        // Ids are the run's own sequence, and the stored history is what the stream delivered.
        expect(live.map((event) => event.seq)).toEqual(live.map((_, index) => index + 1));
        const history = await api.get(`/v1/runs/${started.body.id}/events`, {
          accept: 'application/json',
        });
        expect(history.body).toEqual({ items: live, lastSeq: live.length, ended: true });
        // Both modes resume after Last-Event-ID.
        const after = { 'last-event-id': '3' };
        const resumed = await api.get(`/v1/runs/${started.body.id}/events`, after);
        expect(sseEvents(resumed.body as string)).toEqual(live.slice(3));
        const resumedJson = await api.get(`/v1/runs/${started.body.id}/events`, {
          ...after,
          accept: 'application/json',
        });
        expect(resumedJson.body.items).toEqual(live.slice(3));
      });
    });

    describe('webhooks', () => {
      const secret = 'whsec-0123456789abcdef';
      let hookUrl: string;
      let workflowId: string;

      /** A delivery signed now (or `ageS` ago), with `tamper` applied to the body after. */
      function deliver(
        body: string,
        options: {
          url?: string;
          ageS?: number;
          tamper?: (body: string) => string;
          sign?: boolean;
          headers?: Record<string, string>;
        } = {},
      ) {
        const timestamp = String(Math.floor(Date.now() / 1000) - (options.ageS ?? 0));
        const signed =
          options.sign === false
            ? {}
            : {
                'x-weft-timestamp': timestamp,
                'x-weft-signature': signWebhook(secret, timestamp, body),
              };
        return fetch(options.url ?? hookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signed, ...options.headers },
          body: options.tamper ? options.tamper(body) : body,
        });
      }

      const runsOf = async (id: string) =>
        (await api.get(`/v1/runs?workflowId=${id}`)).body.items as { id: string }[];

      beforeAll(async () => {
        const created = await api.post('/v1/credentials', {
          name: 'hook-secret',
          type: 'hmac',
          data: { secret },
        });
        expect(created.status).toBe(201);
        workflowId = await createWorkflow({
          name: 'signed-hook',
          triggers: [{ type: 'webhook', path: 'orders', secret: 'hook-secret' }],
          steps: [
            {
              id: 'total',
              type: 'transform',
              with: { value: '{{ { "total": input.qty * 2, "via": run.trigger.type } }}' },
            },
          ],
          output: '{{ steps.total.output }}',
        });
        hookUrl = `${target.baseUrl}/v1/hooks/${api.tenantId}/orders`;
      });

      it('starts one run for a signed delivery, and records the trigger and event', async () => {
        const answer = await deliver(JSON.stringify({ qty: 3 }), {
          headers: { 'x-custom': 'yes' },
        });
        expect(answer.status).toBe(202);
        const { runId } = (await answer.json()) as { runId: string };
        const run = await api.waitForRun(runId);
        expect(run).toMatchObject({
          status: 'succeeded',
          trigger: { type: 'webhook', path: 'orders' },
          output: { total: 6, via: 'webhook' },
        });
      });

      it('answers 401 and starts nothing when unsigned, stale or tampered', async () => {
        const before = (await runsOf(workflowId)).length;
        const body = JSON.stringify({ qty: 1 });
        const unsigned = await deliver(body, { sign: false });
        const stale = await deliver(body, { ageS: 301 });
        const tampered = await deliver(body, { tamper: (b) => b.replace('1', '9') });
        for (const answer of [unsigned, stale, tampered]) {
          expect(answer.status).toBe(401);
          expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        }
        expect((await runsOf(workflowId)).length).toBe(before);
      });

      it('starts one run per X-Weft-Event-Id', async () => {
        const body = JSON.stringify({ qty: 4 });
        const headers = { 'x-weft-event-id': `evt-${Date.now()}` };
        const first = (await (await deliver(body, { headers })).json()) as { runId: string };
        const again = (await (await deliver(body, { headers })).json()) as { runId: string };
        expect(again.runId).toBe(first.runId);
      });

      it('answers with the output when the run ends within ?wait', async () => {
        const answer = await deliver(JSON.stringify({ qty: 5 }), { url: `${hookUrl}?wait=10s` });
        expect(answer.status).toBe(200);
        expect(await answer.json()).toMatchObject({
          status: 'succeeded',
          output: { total: 10, via: 'webhook' },
        });
      });

      it('takes form posts on an unsigned hook, keeps paths unique, and forgets archived hooks', async () => {
        const openId = await createWorkflow({
          name: 'open-hook',
          triggers: [{ type: 'webhook', path: 'form', auth: 'none' }],
          steps: [{ id: 'echo', type: 'transform', with: { value: '{{ input }}' } }],
          output: '{{ steps.echo.output }}',
        });
        const url = `${target.baseUrl}/v1/hooks/${api.tenantId}/form?wait=10s`;
        const answer = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'name=ada&plan=pro',
        });
        expect(answer.status).toBe(200);
        expect(await answer.json()).toMatchObject({ output: { name: 'ada', plan: 'pro' } });

        const clash = await api.post('/v1/workflows', {
          name: 'clash',
          triggers: [{ type: 'webhook', path: 'form', auth: 'none' }],
          steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
        });
        expect(clash.status).toBe(409);
        expect(clash.body.type).toBe('urn:weft:problem:webhook-path-taken');

        expect((await api.delete(`/v1/workflows/${openId}`)).status).toBe(204);
        const gone = await fetch(url, { method: 'POST', body: 'x=1' });
        expect(gone.status).toBe(404);
      });
    });

    describe('concurrency', () => {
      let made = 0;
      // One run per customer at a time: each run waits for a person, so it runs as long as
      // the test says.
      const perCustomer = () => ({
        name: `per-customer-${mode}-${++made}`,
        concurrency: { limit: 1, key: '{{ input.email }}' },
        steps: [{ id: 'gate', type: 'approval', with: { timeoutMs: 120_000 } }],
      });
      const start = async (workflowId: string, email: string): Promise<string> => {
        const started = await api.post(`/v1/workflows/${workflowId}/runs`, { input: { email } });
        expect(started.status).toBe(202);
        return started.body.id as string;
      };
      const gateWaiting = (run: any) =>
        run.status === 'running' && run.steps[0]?.status === 'waiting';
      const waitingForSlot = (run: any) =>
        run.status === 'queued' && run.waitingFor === 'concurrency';
      const approve = async (runId: string) => {
        expect((await api.post(`/v1/runs/${runId}/steps/gate/complete`, {})).status).toBe(200);
      };
      const approveAs = async (tenant: Api, runId: string) => {
        expect((await tenant.post(`/v1/runs/${runId}/steps/gate/complete`, {})).status).toBe(200);
      };

      it('refuses a limit out of bounds and a bad key template at their paths', async () => {
        const refused = await api.post('/v1/workflows', {
          ...perCustomer(),
          concurrency: { limit: 0, key: '{{ input.email + }}' },
        });
        expect(refused.status).toBe(400);
        const paths = (refused.body.errors as { path: string }[]).map((e) => e.path);
        expect(paths.sort()).toEqual(['$.body.concurrency.key', '$.body.concurrency.limit']);
      });

      it('runs one run at a time per key, not across keys; a waiting run says so', async () => {
        const workflowId = await createWorkflow(perCustomer());
        const a1 = await start(workflowId, 'a@x.test');
        await api.waitForRun(a1, gateWaiting);
        const a2 = await start(workflowId, 'a@x.test');
        const b1 = await start(workflowId, 'b@x.test');
        // Another customer is not held up behind a@.
        await api.waitForRun(b1, gateWaiting);
        const waiting = await api.waitForRun(a2, waitingForSlot);
        expect(waiting).toMatchObject({ status: 'queued', startedAt: null });
        const listed = await api.get(`/v1/runs?workflowId=${workflowId}&status=queued`);
        expect(listed.body.items).toEqual([
          expect.objectContaining({ id: a2, status: 'queued', waitingFor: 'concurrency' }),
        ]);
        // Still waiting a while later: the limit holds, not just the first moment.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(waitingForSlot((await api.get(`/v1/runs/${a2}`)).body)).toBe(true);

        await approve(a1);
        expect(await api.waitForRun(a1)).toMatchObject({ status: 'succeeded' });
        const running = await api.waitForRun(a2, gateWaiting);
        expect(running.waitingFor).toBeUndefined();
        await approve(a2);
        await approve(b1);
        for (const id of [a2, b1]) {
          expect(await api.waitForRun(id)).toMatchObject({ status: 'succeeded' });
        }
      }, 60_000);

      it('hands the slot of a cancelled run to the next waiting run of its key', async () => {
        const workflowId = await createWorkflow(perCustomer());
        const first = await start(workflowId, 'c@x.test');
        await api.waitForRun(first, gateWaiting);
        const second = await start(workflowId, 'c@x.test');
        const third = await start(workflowId, 'c@x.test');
        await api.waitForRun(third, waitingForSlot);
        // A waiting run cancelled leaves the line; the running one cancelled frees the slot.
        expect((await api.post(`/v1/runs/${second}/cancel`, {})).status).toBe(202);
        expect((await api.post(`/v1/runs/${first}/cancel`, {})).status).toBe(202);
        await api.waitForRun(third, gateWaiting);
        expect((await api.get(`/v1/runs/${second}`)).body).toMatchObject({
          status: 'cancelled',
          startedAt: null,
        });
        await approve(third);
        expect(await api.waitForRun(third)).toMatchObject({ status: 'succeeded' });
      }, 60_000);

      it("keeps a tenant's running runs to its concurrentRuns; all finish, and another tenant never waits", async () => {
        const limited = await anon.newTenant(target.adminKey, `limited-${mode}`);
        const admin = anon.as(target.adminKey);
        const patched = await admin.send('PATCH', `/v1/tenants/${limited.tenantId}`, {
          limits: { concurrentRuns: 2 },
        });
        expect(patched.status).toBe(200);
        expect(patched.body).toMatchObject({
          limits: { concurrentRuns: 2 },
          ownLimits: { concurrentRuns: 2 },
        });
        // Each run's one step is a call the target answers after 400 ms.
        const path = `/limited-${mode}`;
        echo.script(path, () => ({ status: 200, body: { ok: true }, delayMs: 400 }));
        const created = await limited.post('/v1/workflows', {
          name: 'limited-calls',
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: { method: 'GET', url: `${echo.url}${path}` },
            },
          ],
        });
        expect(created.status).toBe(201);
        const runIds: string[] = [];
        for (let i = 0; i < 6; i++) {
          const started = await limited.post(`/v1/workflows/${created.body.id}/runs`, {
            input: { i },
          });
          expect(started.status).toBe(202);
          runIds.push(started.body.id as string);
        }
        type Brief = { status: string; waitingFor?: string };
        const runsOf = (): Promise<Brief[]> =>
          Promise.all(runIds.map(async (id) => (await limited.get<Brief>(`/v1/runs/${id}`)).body));
        let most = 0;
        let sawWaiting = false;
        // Another tenant's run starts at once.
        const other = await createWorkflow({
          name: `unlimited-${mode}`,
          steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
        });
        const otherRun = await api.post(`/v1/workflows/${other}/runs`, { input: {} });
        expect(await api.waitForRun(otherRun.body.id as string)).toMatchObject({
          status: 'succeeded',
        });
        for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
          const runs = await runsOf();
          most = Math.max(most, runs.filter((run) => run.status === 'running').length);
          sawWaiting ||= runs.some((run) => run.waitingFor === 'concurrentRuns');
          if (runs.every((run) => run.status === 'succeeded')) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect((await runsOf()).map((run) => run.status)).toEqual(Array(6).fill('succeeded'));
        expect(most).toBeLessThanOrEqual(2);
        expect(echo.maxInFlight(path)).toBe(2);
        expect(sawWaiting).toBe(true);
      }, 90_000);

      it('gives a run waiting at an approval no slot, and hands a cancelled run’s slot on', async () => {
        const limited = await anon.newTenant(target.adminKey, `limited-waits-${mode}`);
        const admin = anon.as(target.adminKey);
        await admin.send('PATCH', `/v1/tenants/${limited.tenantId}`, {
          limits: { concurrentRuns: 1 },
        });
        const gated = await limited.post('/v1/workflows', {
          name: 'gated',
          steps: [{ id: 'gate', type: 'approval', with: { timeoutMs: 120_000 } }],
        });
        // Two runs wait for a person at once under a limit of 1: waiting holds no slot.
        const first = await limited.post(`/v1/workflows/${gated.body.id}/runs`, {});
        const second = await limited.post(`/v1/workflows/${gated.body.id}/runs`, {});
        for (const run of [first, second]) {
          await limited.waitForRun(run.body.id as string, gateWaiting);
        }
        // A run holding the slot (its call takes a minute), and one waiting behind it.
        const path = `/held-${mode}`;
        echo.script(path, () => ({ status: 200, delayMs: 60_000 }));
        const calls = await limited.post('/v1/workflows', {
          name: 'held',
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: { method: 'GET', url: `${echo.url}${path}` },
            },
          ],
        });
        const holder = await limited.post(`/v1/workflows/${calls.body.id}/runs`, {});
        await limited.waitForRun(holder.body.id as string, (run) => run.status === 'running');
        const behind = await limited.post(`/v1/workflows/${calls.body.id}/runs`, {});
        await limited.waitForRun(
          behind.body.id as string,
          (run) => run.waitingFor === 'concurrentRuns',
        );
        // Cancelled, the holder hands the slot to the run behind it.
        expect((await limited.post(`/v1/runs/${holder.body.id}/cancel`, {})).status).toBe(202);
        await limited.waitForRun(behind.body.id as string, (run) => run.status === 'running');
        expect((await limited.post(`/v1/runs/${behind.body.id}/cancel`, {})).status).toBe(202);
        // The approvals go on once decided.
        for (const run of [first, second]) {
          await approveAs(limited, run.body.id as string);
          expect(await limited.waitForRun(run.body.id as string)).toMatchObject({
            status: 'succeeded',
          });
        }
      }, 90_000);
    });

    describe('approvals', () => {
      let made = 0;
      // Names are unique among active workflows: each test makes its own.
      const refund = (timeoutMs = 60_000) => ({
        name: `refund-${mode}-${timeoutMs}-${++made}`,
        steps: [
          {
            id: 'approve',
            type: 'approval',
            with: { timeoutMs, message: 'Refund {{ input.amount }} EUR?' },
          },
          // Runs while the approval waits: it can send the links (here, echoes them).
          {
            id: 'notify',
            type: 'transform',
            with: { value: '{{ steps.approve.waiting.approveUrl }}' },
          },
          {
            id: 'refund',
            type: 'transform',
            needs: ['approve'],
            with: {
              value:
                "{{ { 'by': steps.approve.output.comment, 'decision': steps.approve.output.decision } }}",
            },
          },
        ],
        output: "{{ { 'refund': steps.refund.output, 'link': steps.notify.output } }}",
      });
      const waitingApproval = async (workflowId: string) => {
        const started = await api.post(`/v1/workflows/${workflowId}/runs`, {
          input: { amount: 40 },
        });
        expect(started.status).toBe(202);
        const run = await api.waitForRun(
          started.body.id,
          (r) => r.steps.find((s: { id: string }) => s.id === 'approve')?.status === 'waiting',
        );
        return { run, step: run.steps.find((s: { id: string }) => s.id === 'approve') };
      };

      it('waits for a decision by API: approve once, the same again is fine, the other a conflict', async () => {
        const workflowId = await createWorkflow(refund());
        const { run, step } = await waitingApproval(workflowId);
        expect(step.waiting).toMatchObject({
          kind: 'approval',
          message: 'Refund 40 EUR?',
          approveUrl: expect.stringContaining('/v1/approvals/'),
          rejectUrl: expect.stringContaining('/v1/approvals/'),
        });
        expect(Date.parse(step.waiting.expiresAt)).toBeGreaterThan(Date.now());
        const complete = (body: unknown) =>
          api.post(`/v1/runs/${run.id}/steps/approve/complete`, body);
        const done = await complete({ comment: 'ada' });
        expect(done.status).toBe(200);
        const ended = await api.waitForRun(run.id);
        expect(ended).toMatchObject({
          status: 'succeeded',
          output: { refund: { by: 'ada', decision: 'approve' }, link: step.waiting.approveUrl },
        });
        expect((await complete({ comment: 'ada' })).status).toBe(200);
        const conflict = await complete({ decision: 'reject' });
        expect(conflict.status).toBe(409);
        expect(conflict.body.type).toBe('urn:weft:problem:run-step-not-waiting');
        expect((await api.post(`/v1/runs/${run.id}/steps/refund/complete`, {})).status).toBe(409);
        expect((await api.post(`/v1/runs/${run.id}/steps/nope/complete`, {})).status).toBe(404);
      });

      it('decides by its signed link, without a key: GET shows a page, POST decides once', async () => {
        const workflowId = await createWorkflow(refund());
        const { run, step } = await waitingApproval(workflowId);
        const page = await fetch(step.waiting.approveUrl);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toContain('text/html');
        expect(await page.text()).toContain('Refund 40 EUR?');
        // Opening the link decided nothing.
        expect((await api.get(`/v1/runs/${run.id}`)).body.status).toBe('running');

        const used = await fetch(step.waiting.approveUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'comment=from+the+link',
        });
        expect(used.status).toBe(200);
        expect(await used.text()).toContain('Approved');
        expect(await api.waitForRun(run.id)).toMatchObject({
          status: 'succeeded',
          output: { refund: { by: 'from the link', decision: 'approve' } },
        });
        const again = await fetch(step.waiting.approveUrl, { method: 'POST' });
        expect(again.status).toBe(409);
        const rejectLater = await fetch(step.waiting.rejectUrl, { method: 'POST' });
        expect(rejectLater.status).toBe(409);

        const forged = step.waiting.approveUrl.replace(/.$/, (c: string) =>
          c === 'A' ? 'B' : 'A',
        );
        expect((await fetch(forged, { method: 'POST' })).status).toBe(404);
      });

      it('fails the run with approval_rejected on a rejection, approval_timeout when nobody decides', async () => {
        const workflowId = await createWorkflow(refund());
        const { run, step } = await waitingApproval(workflowId);
        expect((await fetch(step.waiting.rejectUrl, { method: 'POST' })).status).toBe(200);
        expect(await api.waitForRun(run.id)).toMatchObject({
          status: 'failed',
          error: { code: 'approval_rejected', stepId: 'approve' },
        });

        const short = await createWorkflow(refund(1_500));
        const timedOut = await waitingApproval(short);
        const ended = await api.waitForRun(timedOut.run.id);
        expect(ended).toMatchObject({
          status: 'failed',
          error: { code: 'approval_timeout', stepId: 'approve' },
        });
        expect((await fetch(timedOut.step.waiting.approveUrl, { method: 'POST' })).status).toBe(
          409,
        );
      });
    });

    describe('sub-workflows', () => {
      const doubler = (name: string) => ({
        name,
        steps: [{ id: 'double', type: 'transform', with: { value: '{{ input.n * 2 }}' } }],
        output: '{{ steps.double.output }}',
      });
      const caller = (name: string, child: string, extra: Record<string, unknown> = {}) => ({
        name,
        steps: [
          {
            id: 'call',
            type: 'workflow.run',
            with: { workflow: child, input: { n: '{{ input.n }}' }, ...extra },
          },
        ],
        output: '{{ steps.call.output }}',
      });

      it('a parent waits for its child and gets its output; the child names its parent', async () => {
        await createWorkflow(doubler(`doubler-${mode}`));
        const parentId = await createWorkflow(caller(`caller-${mode}`, `doubler-${mode}`));
        const started = await api.post(`/v1/workflows/${parentId}/runs`, { input: { n: 21 } });
        const parent = await api.waitForRun(started.body.id);
        expect(parent).toMatchObject({ status: 'succeeded', output: 42, parentRunId: null });
        const children = await api.get(`/v1/runs?parentRunId=${parent.id}`);
        expect(children.body.items).toHaveLength(1);
        expect(children.body.items[0]).toMatchObject({
          status: 'succeeded',
          parentRunId: parent.id,
        });
        const child = await api.get(`/v1/runs/${children.body.items[0].id}`);
        expect(child.body.trigger).toEqual({
          type: 'workflow',
          parentRunId: parent.id,
          stepId: 'call',
          depth: 1,
          wait: true,
        });

        const detached = await createWorkflow(
          caller(`detached-${mode}`, `doubler-${mode}`, { wait: false }),
        );
        const run = await api.waitForRun(
          (await api.post(`/v1/workflows/${detached}/runs`, { input: { n: 1 } })).body.id,
        );
        expect(run.status).toBe('succeeded');
        expect(await api.waitForRun(run.output.runId as string)).toMatchObject({
          status: 'succeeded',
          output: 2,
          parentRunId: run.id,
        });
      });

      it('a failed child fails the waiting step with child_failed', async () => {
        await createWorkflow({
          name: `failing-child-${mode}`,
          steps: [{ id: 'boom', type: 'fail', with: { message: 'no stock' } }],
        });
        const parentId = await createWorkflow(
          caller(`caller-of-failing-${mode}`, `failing-child-${mode}`),
        );
        const parent = await api.waitForRun(
          (await api.post(`/v1/workflows/${parentId}/runs`, { input: { n: 1 } })).body.id,
        );
        expect(parent).toMatchObject({
          status: 'failed',
          error: { code: 'child_failed', stepId: 'call' },
        });
        expect(parent.error.message).toContain('no stock');
      });

      it('cancelling a grandparent cancels the grandchild’s in-flight HTTP call', async () => {
        echo.script('/slow-grandchild', () => ({ status: 200, delayMs: 60_000 }));
        await createWorkflow({
          name: `grandchild-${mode}`,
          steps: [
            {
              id: 'call',
              type: 'http.request',
              timeoutMs: 120_000,
              with: { method: 'GET', url: `${echo.url}/slow-grandchild` },
            },
          ],
        });
        await createWorkflow(caller(`child-${mode}`, `grandchild-${mode}`));
        const top = await createWorkflow(caller(`grandparent-${mode}`, `child-${mode}`));
        const started = await api.post(`/v1/workflows/${top}/runs`, { input: { n: 1 } });
        await until(() => echo.callsTo('/slow-grandchild').length === 1, 20_000);
        const cancelledAt = Date.now();
        expect((await api.post(`/v1/runs/${started.body.id}/cancel`)).status).toBe(202);
        expect((await api.waitForRun(started.body.id)).status).toBe('cancelled');
        await until(() => echo.closed.includes('/slow-grandchild'), 5_000);
        expect(Date.now() - cancelledAt).toBeLessThan(5_000);
        const child = (await api.get(`/v1/runs?parentRunId=${started.body.id}`)).body.items[0];
        const grandchild = (await api.get(`/v1/runs?parentRunId=${child.id}`)).body.items[0];
        expect((await api.waitForRun(child.id)).status).toBe('cancelled');
        expect((await api.waitForRun(grandchild.id)).status).toBe('cancelled');
      });

      it('stops a workflow that calls itself at depth 10 with depth_exceeded', async () => {
        const id = await createWorkflow(caller(`recursive-${mode}`, `recursive-${mode}`));
        const top = await startAndWait(id, { input: { n: 1 } }, 30_000);
        expect(top).toMatchObject({ status: 'failed', error: { code: 'child_failed' } });
        const runs = (await api.get(`/v1/runs?workflowId=${id}`)).body.items as { id: string }[];
        expect(runs).toHaveLength(11);
        const views = await Promise.all(runs.map((run) => api.waitForRun(run.id)));
        const deepest = views.filter((view) => view.error?.code === 'depth_exceeded');
        expect(deepest).toHaveLength(1);
        expect(deepest[0].trigger.depth).toBe(10);
      }, 40_000);
    });

    describe('foreach', () => {
      it('runs 50 items at most 5 at a time and keeps their outputs in order', async () => {
        echo.script('/item', (call) => ({
          status: 200,
          delayMs: 60,
          body: { n: (JSON.parse(call.body) as { n: number }).n * 10 },
        }));
        const id = await createWorkflow({
          name: `foreach-${mode}`,
          steps: [
            {
              id: 'each',
              type: 'foreach',
              with: {
                items: '{{ [1..50] }}',
                concurrency: 5,
                step: {
                  type: 'http.request',
                  with: { method: 'POST', url: `${echo.url}/item`, body: { n: '{{ item }}' } },
                },
              },
            },
          ],
          output: '{{ steps.each.output.body.n }}',
        });
        const run = await startAndWait(id, {}, 60_000);
        expect(run.status).toBe('succeeded');
        expect(run.output).toEqual(Array.from({ length: 50 }, (_, i) => (i + 1) * 10));
        expect(echo.maxInFlight('/item')).toBe(5);
        expect(run.steps[0].items).toEqual({
          total: 50,
          succeeded: 50,
          failed: 0,
          running: 0,
          pending: 0,
          errors: [],
        });
        // Each item's key is {runId}:{stepId}:{index}; item runs are the run's children only.
        const keys = echo.callsTo('/item').map((call) => call.headers['idempotency-key']);
        expect(new Set(keys)).toEqual(
          new Set(Array.from({ length: 50 }, (_, i) => `${run.id}:each:${i}`)),
        );
        expect((await api.get(`/v1/runs?workflowId=${id}`)).body.items).toHaveLength(1);
        const children = await api.get(`/v1/runs?parentRunId=${run.id}&limit=100`);
        expect(children.body.items).toHaveLength(50);
      }, 90_000);

      it('continues past a failed item with onItemError: continue, and fails on one by default', async () => {
        echo.script('/maybe', (call) => {
          const n = (JSON.parse(call.body) as { n: number }).n;
          return n === 3
            ? { status: 400, body: { error: 'bad item' } }
            : { status: 200, body: { n } };
        });
        const each = (onItemError?: string) => ({
          id: 'each',
          type: 'foreach',
          with: {
            items: [1, 2, 3, 4],
            ...(onItemError ? { onItemError } : {}),
            step: {
              type: 'http.request',
              with: { method: 'POST', url: `${echo.url}/maybe`, body: { n: '{{ item }}' } },
            },
          },
        });
        const lenient = await createWorkflow({
          name: `foreach-continue-${mode}`,
          steps: [each('continue')],
          output: '{{ steps.each.output }}',
        });
        const run = await startAndWait(lenient, {}, 30_000);
        expect(run.status).toBe('succeeded');
        expect(run.output.map((o: { body?: { n: number } } | null) => o?.body?.n ?? null)).toEqual([
          1,
          2,
          null,
          4,
        ]);
        expect(run.steps[0].items).toMatchObject({
          total: 4,
          succeeded: 3,
          failed: 1,
          errors: [{ index: 2, code: 'http_status' }],
        });

        const strict = await createWorkflow({ name: `foreach-fail-${mode}`, steps: [each()] });
        const failed = await startAndWait(strict, {}, 30_000);
        expect(failed).toMatchObject({
          status: 'failed',
          error: { code: 'item_failed', stepId: 'each' },
        });
      }, 60_000);

      it('cancelling the run stops pending items and aborts the running ones', async () => {
        echo.script('/slow-item', () => ({ status: 200, delayMs: 60_000 }));
        const id = await createWorkflow({
          name: `foreach-cancel-${mode}`,
          steps: [
            {
              id: 'each',
              type: 'foreach',
              with: {
                items: '{{ [1..10] }}',
                concurrency: 3,
                step: {
                  type: 'http.request',
                  timeoutMs: 120_000,
                  with: { method: 'GET', url: `${echo.url}/slow-item?n={{ item }}` },
                },
              },
            },
          ],
        });
        const started = await api.post(`/v1/workflows/${id}/runs`, {});
        await until(() => echo.callsTo('/slow-item').length === 3, 20_000);
        const running = await api.get(`/v1/runs/${started.body.id}`);
        expect(running.body.steps[0].items).toMatchObject({ total: 10, running: 3, pending: 7 });
        expect((await api.post(`/v1/runs/${started.body.id}/cancel`)).status).toBe(202);
        expect((await api.waitForRun(started.body.id)).status).toBe('cancelled');
        await until(() => echo.closed.filter((path) => path === '/slow-item').length === 3, 5_000);
        const items = (await api.get(`/v1/runs?parentRunId=${started.body.id}`)).body.items;
        expect(items).toHaveLength(3);
        for (const item of items) expect((await api.waitForRun(item.id)).status).toBe('cancelled');
        expect(echo.callsTo('/slow-item')).toHaveLength(3);
      }, 60_000);

      it('refuses at save time an item step of the wrong shape, at its path', async () => {
        const refused = await api.post('/v1/workflows', {
          name: 'bad-foreach',
          steps: [
            {
              id: 'each',
              type: 'foreach',
              with: { items: [1], step: { type: 'http.request', with: { method: 'FETCH' } } },
            },
          ],
        });
        expect(refused.status).toBe(400);
        expect(refused.body.errors.map((e: { path: string }) => e.path)).toContain(
          '$.body.steps[0].with.step.with.method',
        );
      });
    });

    describe('large outputs', () => {
      it('stores a 1 MiB output out of line and reads it back intact, in the view and in expressions', async () => {
        const text = 'weft'.repeat(256 * 1024);
        echo.script('/large', () => ({ status: 200, body: { text } }));
        const id = await createWorkflow({
          name: `large-${mode}`,
          steps: [
            { id: 'big', type: 'http.request', with: { method: 'GET', url: `${echo.url}/large` } },
          ],
          // A path and an operator (evaluated on the engine's thread): true only if the text
          // stored out of line was read back into the context.
          output: '{{ steps.big.output.body.text = steps.big.output.body.text }}',
        });
        const run = await startAndWait(id, {}, 30_000);
        expect(run).toMatchObject({ status: 'succeeded', output: true });
        expect(run.steps[0].output.body.text === text).toBe(true);
      }, 40_000);

      it('fails a step whose output is over 10 MiB with output_too_large', async () => {
        // 2 MiB of control characters: a 2 MiB body whose output is 12 MiB as JSON.
        echo.script('/huge', () => ({ status: 200, raw: '\u0001'.repeat(2 * 1024 * 1024) }));
        const id = await createWorkflow({
          name: `huge-${mode}`,
          steps: [
            { id: 'big', type: 'http.request', with: { method: 'GET', url: `${echo.url}/huge` } },
          ],
        });
        const run = await startAndWait(id, {}, 30_000);
        expect(run).toMatchObject({
          status: 'failed',
          error: { code: 'output_too_large', stepId: 'big' },
        });
      }, 40_000);
    });

    describe('schedules and run triggers', () => {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      /** Every run of a workflow, oldest first, each read in full. */
      async function runsInFull(workflowId: string): Promise<any[]> {
        const page = await api.get(`/v1/runs?workflowId=${workflowId}&limit=100`);
        expect(page.status).toBe(200);
        const ids = (page.body.items as { id: string }[]).map((r) => r.id).reverse();
        return Promise.all(ids.map((id) => api.waitForRun(id)));
      }

      it('a */2 * * * * * schedule fires once per slot, also across an update: the old version never fires again', async () => {
        const definition = (version: string) => ({
          name: `every-2s-${mode}`,
          triggers: [{ type: 'schedule', cron: '*/2 * * * * *', input: { version } }],
          steps: [{ id: 'slot', type: 'transform', with: { value: '{{ event.scheduledFor }}' } }],
          output: "{{ { 'slot': steps.slot.output, 'from': input.version } }}",
        });
        // Beside it, a schedule every second whose runs take 2.5 s: overlap skip counts slots.
        const slow = await createWorkflow({
          name: `slow-${mode}`,
          triggers: [{ type: 'schedule', cron: '* * * * * *' }],
          steps: [{ id: 'pause', type: 'wait', with: { durationMs: 2_500 } }],
        });
        const workflowId = await createWorkflow(definition('v1'));
        await sleep(10_000);
        const updated = await api.put(`/v1/workflows/${workflowId}`, definition('v2'));
        expect(updated.status).toBe(200);
        const movedAt = Date.now();
        await sleep(10_000);

        const schedules = await api.get(`/v1/workflows/${workflowId}/schedules`);
        expect(schedules.status).toBe(200);
        expect((await api.delete(`/v1/workflows/${workflowId}`)).status).toBe(204);
        expect((await api.delete(`/v1/workflows/${slow}`)).status).toBe(204);
        const archivedAt = Date.now();

        const runs = await runsInFull(workflowId);
        const slots = runs.map((run) => Date.parse(run.output.slot as string));
        // Once per slot: no slot twice, none left out, each an even second.
        expect(new Set(slots).size).toBe(slots.length);
        expect(slots.length).toBeGreaterThanOrEqual(9);
        slots.forEach((slot, i) => {
          expect(slot % 2000).toBe(0);
          if (i > 0) expect(slot - slots[i - 1]!).toBe(2000);
        });
        for (const run of runs) {
          expect(run.status).toBe('succeeded');
          expect(run.trigger).toEqual({ type: 'schedule', index: 0, cron: '*/2 * * * * *' });
          const slot = Date.parse(run.output.slot as string);
          // A slot after the update committed fires the new version only.
          if (slot > movedAt)
            expect(run).toMatchObject({ workflowVersion: 2, output: { from: 'v2' } });
          if (run.workflowVersion === 1) expect(slot).toBeLessThan(movedAt);
        }
        expect(runs.filter((run) => run.workflowVersion === 2).length).toBeGreaterThanOrEqual(4);

        const [view] = schedules.body.items;
        expect(view).toMatchObject({ index: 0, version: 2, cron: '*/2 * * * * *', skipped: 0 });
        expect(view.nextSlots).toHaveLength(5);
        expect(view.fired).toBeGreaterThanOrEqual(slots.length - 1);

        const slowRuns = await runsInFull(slow);
        expect(slowRuns.length).toBeGreaterThanOrEqual(3);
        const slowView = await api.get(`/v1/workflows/${slow}/schedules`);
        expect(slowView.body.items).toEqual([]); // archived: no schedules left
        // Archived: nothing fires any more.
        await sleep(2_500);
        const after = await api.get(`/v1/runs?workflowId=${workflowId}&limit=100`);
        expect(after.body.items).toHaveLength(runs.length);
        expect(Date.now()).toBeGreaterThan(archivedAt);
      }, 60_000);

      it('counts the slots an overlapping schedule skipped', async () => {
        const slow = await createWorkflow({
          name: `overlap-${mode}`,
          triggers: [{ type: 'schedule', cron: '* * * * * *', overlap: 'skip' }],
          steps: [{ id: 'pause', type: 'wait', with: { durationMs: 2_500 } }],
        });
        await sleep(6_000);
        const view = (await api.get(`/v1/workflows/${slow}/schedules`)).body.items[0];
        expect((await api.delete(`/v1/workflows/${slow}`)).status).toBe(204);
        expect(view.skipped).toBeGreaterThanOrEqual(2);
        expect(view.fired).toBeGreaterThanOrEqual(1);
        const runs = await runsInFull(slow);
        // A slot may fire between reading the counts and the archive: one run more, not less.
        expect(runs.length).toBeGreaterThanOrEqual(view.fired);
        expect(runs.length).toBeLessThanOrEqual(view.fired + 1);
      }, 30_000);

      it('refuses a bad cron and an unknown zone at their paths', async () => {
        const refused = await api.post('/v1/workflows', {
          name: 'bad-schedules',
          triggers: [
            { type: 'schedule', cron: '61 * * * *' },
            { type: 'schedule', cron: '0 9 * * *', timezone: 'Mars/Olympus' },
            { type: 'schedule', cron: '0 0 30 2 *' },
          ],
          steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
        });
        expect(refused.status).toBe(400);
        expect(refused.body.errors.map((e: { path: string }) => e.path)).toEqual([
          '$.body.triggers[0].cron',
          '$.body.triggers[1].timezone',
          '$.body.triggers[2].cron',
        ]);
      });

      it('a run trigger chains two workflows: the second starts with the first one’s output', async () => {
        const source = await createWorkflow({
          name: `chain-source-${mode}`,
          steps: [{ id: 'double', type: 'transform', with: { value: '{{ input.n * 2 }}' } }],
          output: "{{ { 'n': steps.double.output } }}",
        });
        const chained = await createWorkflow({
          name: `chain-target-${mode}`,
          triggers: [{ type: 'run', workflow: `chain-source-${mode}` }],
          steps: [{ id: 'inc', type: 'transform', with: { value: '{{ input.n + 1 }}' } }],
          output: '{{ steps.inc.output }}',
        });
        const started = await api.post(`/v1/workflows/${source}/runs`, { input: { n: 20 } });
        expect(started.status).toBe(202);
        const sourceRun = await api.waitForRun(started.body.id);
        expect(sourceRun).toMatchObject({ status: 'succeeded', output: { n: 40 } });

        let runs: any[] = [];
        const deadline = Date.now() + 15_000;
        while (runs.length === 0 && Date.now() < deadline) {
          await sleep(100);
          runs = await runsInFull(chained);
        }
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({
          status: 'succeeded',
          input: { n: 40 },
          output: 41,
          trigger: { type: 'run', workflowId: source, runId: sourceRun.id, depth: 1 },
        });

        // A failed source run does not match the default statuses (succeeded).
        const failed = await api.post(`/v1/workflows/${source}/runs`, { input: { n: 'x' } });
        expect((await api.waitForRun(failed.body.id)).status).toBe('failed');
        await sleep(1_000);
        expect(await runsInFull(chained)).toHaveLength(1);

        const orphan = await api.post('/v1/workflows', {
          name: 'orphan',
          triggers: [{ type: 'run', workflow: 'no-such-workflow' }],
          steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
        });
        expect(orphan.status).toBe(400);
        expect(orphan.body.errors[0].path).toBe('$.body.triggers[0].workflow');
      }, 40_000);
    });

    describe('broker connectors', () => {
      const brokers = [process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'];
      const amqpUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

      it('kafka.publish writes the record with its key, value and idempotency-key header', async () => {
        const topic = `weft-test-publish-${mode}-${Date.now()}`;
        const kafka = new Kafka({ clientId: 'weft-test', brokers, logLevel: logLevel.NOTHING });
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
        await admin.disconnect();
        await api.post('/v1/credentials', { name: 'events', type: 'kafka', data: { brokers } });
        const id = await createWorkflow({
          name: `publish-kafka-${mode}`,
          steps: [
            {
              id: 'publish',
              type: 'kafka.publish',
              with: {
                credential: 'events',
                topic,
                key: 'order-{{ input.n }}',
                value: { n: '{{ input.n }}' },
                headers: { source: 'weft' },
              },
            },
          ],
          output: '{{ steps.publish.output }}',
        });
        const run = await startAndWait(id, { input: { n: 7 } }, 30_000);
        expect(run).toMatchObject({
          status: 'succeeded',
          output: { topic, partition: 0, offset: '0' },
        });
        const consumer = kafka.consumer({ groupId: `weft-test-${Date.now()}` });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        const records: { key: string; value: string; headers: Record<string, string> }[] = [];
        await consumer.run({
          eachMessage: async ({ message }) => {
            records.push({
              key: message.key!.toString(),
              value: message.value!.toString(),
              headers: Object.fromEntries(
                Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
              ),
            });
          },
        });
        await until(() => records.length === 1, 20_000);
        await consumer.disconnect();
        expect(records[0]).toEqual({
          key: 'order-7',
          value: '{"n":7}',
          headers: { source: 'weft', 'idempotency-key': `${run.id}:publish` },
        });

        const unknown = await createWorkflow({
          name: `publish-kafka-unknown-${mode}`,
          steps: [
            {
              id: 'publish',
              type: 'kafka.publish',
              timeoutMs: 15_000,
              with: { credential: 'events', topic: `no-such-topic-${Date.now()}`, value: 'x' },
            },
          ],
        });
        const refused = await startAndWait(unknown, {}, 40_000);
        expect(refused).toMatchObject({ status: 'failed', error: { code: 'publish_failed' } });
      }, 90_000);

      it('rabbitmq.publish delivers the message, confirmed, with the step key as messageId', async () => {
        const queue = `weft-test-publish-${mode}-${Date.now()}`;
        const connection = await amqp.connect(amqpUrl);
        const channel = await connection.createChannel();
        await channel.assertQueue(queue, { durable: false, autoDelete: false });
        await api.post('/v1/credentials', {
          name: 'bus',
          type: 'rabbitmq',
          data: { url: amqpUrl },
        });
        const id = await createWorkflow({
          name: `publish-rabbit-${mode}`,
          steps: [
            {
              id: 'publish',
              type: 'rabbitmq.publish',
              with: {
                credential: 'bus',
                routingKey: queue,
                body: { n: '{{ input.n }}' },
                headers: { source: 'weft' },
              },
            },
          ],
          output: '{{ steps.publish.output }}',
        });
        const run = await startAndWait(id, { input: { n: 9 } }, 30_000);
        expect(run).toMatchObject({ status: 'succeeded', output: { confirmed: true } });
        const message = await channel.get(queue, { noAck: true });
        expect(message).not.toBe(false);
        if (message) {
          expect(JSON.parse(message.content.toString())).toEqual({ n: 9 });
          expect(message.properties).toMatchObject({
            messageId: `${run.id}:publish`,
            contentType: 'application/json',
            headers: { source: 'weft' },
          });
        }
        await channel.deleteQueue(queue);
        await connection.close();

        const unknown = await createWorkflow({
          name: `publish-rabbit-unknown-${mode}`,
          steps: [
            {
              id: 'publish',
              type: 'rabbitmq.publish',
              with: { credential: 'bus', exchange: 'no-such-exchange', routingKey: 'x', body: 'x' },
            },
          ],
        });
        const refused = await startAndWait(unknown, {}, 30_000);
        expect(refused).toMatchObject({ status: 'failed', error: { code: 'publish_failed' } });
      }, 60_000);
    });

    describe('signed requests', () => {
      it('an http.request signed with sign reaches a signed Weft webhook (Weft to Weft)', async () => {
        await api.post('/v1/credentials', {
          name: 'relay-key',
          type: 'hmac',
          data: { secret: 'relay-secret-0123456789abcdef' },
        });
        await createWorkflow({
          name: `relay-in-${mode}`,
          triggers: [{ type: 'webhook', path: `relay-in-${mode}`, secret: 'relay-key' }],
          steps: [{ id: 'greet', type: 'transform', with: { value: 'hello {{ input.name }}' } }],
          output: '{{ steps.greet.output }}',
        });
        const sender = await createWorkflow({
          name: `relay-out-${mode}`,
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: {
                method: 'POST',
                url: `${target.baseUrl}/v1/hooks/${api.tenantId}/relay-in-${mode}?wait=10s`,
                body: { name: '{{ input.name }}' },
                sign: { credential: 'relay-key' },
              },
            },
          ],
          output: '{{ steps.call.output.body }}',
        });
        const run = await startAndWait(sender, { input: { name: 'ada' } }, 30_000);
        expect(run).toMatchObject({
          status: 'succeeded',
          output: { status: 'succeeded', output: 'hello ada' },
        });
        // Without the signature the same call is refused.
        const unsigned = await createWorkflow({
          name: `relay-unsigned-${mode}`,
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: {
                method: 'POST',
                url: `${target.baseUrl}/v1/hooks/${api.tenantId}/relay-in-${mode}`,
                body: { name: 'eve' },
              },
            },
          ],
        });
        const refused = await startAndWait(unsigned, {}, 30_000);
        expect(refused).toMatchObject({ status: 'failed', error: { code: 'http_status' } });
        expect(refused.error.message).toContain('401');
      }, 60_000);
    });

    describe('postgres.query', () => {
      const server =
        process.env.WEFT_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
      const database = `weft_test_pgstep_${mode}`;
      const url = server.replace(/\/[^/]*$/, `/${database}`);

      beforeAll(async () => {
        const admin = new PgClient({ connectionString: server });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${database}`);
        await admin.query(`CREATE DATABASE ${database}`);
        await admin.end();
        const db = new PgClient({ connectionString: url });
        await db.connect();
        await db.query(
          'CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2), at timestamptz, note text)',
        );
        await db.end();
      });

      it('runs parameterised statements: rows written, read back JSON-safe, a constant sql only', async () => {
        await api.post('/v1/credentials', { name: 'shopdb', type: 'postgres', data: { url } });
        const id = await createWorkflow({
          name: `postgres-${mode}`,
          steps: [
            {
              id: 'insert',
              type: 'postgres.query',
              with: {
                credential: 'shopdb',
                sql: 'INSERT INTO orders (id, total, at, note) VALUES ($1, $2, $3, $4) RETURNING id',
                params: [
                  '{{ input.id }}',
                  '{{ input.total }}',
                  '2026-12-02T10:00:00Z',
                  "it's {{ input.note }}",
                ],
              },
            },
            {
              id: 'read',
              type: 'postgres.query',
              needs: ['insert'],
              with: {
                credential: 'shopdb',
                sql: 'SELECT id, total, at, note FROM orders WHERE id = $1',
                params: ['{{ input.id }}'],
              },
            },
          ],
          output: '{{ steps.read.output }}',
        });
        const run = await startAndWait(
          id,
          {
            input: { id: 9007199254740993, total: 12.5, note: "'; DROP TABLE orders; --" },
          },
          30_000,
        );
        expect(run.status).toBe('succeeded');
        expect(run.output).toEqual({
          rows: [
            {
              id: '9007199254740992',
              total: '12.50',
              at: '2026-12-02T10:00:00.000Z',
              note: "it's '; DROP TABLE orders; --",
            },
          ],
          rowCount: 1,
          truncated: false,
          credential: 'shopdb',
        });

        const refused = await api.post('/v1/workflows', {
          name: 'injectable',
          steps: [
            {
              id: 'q',
              type: 'postgres.query',
              with: {
                credential: 'shopdb',
                sql: "SELECT * FROM orders WHERE note = '{{ input.x }}'",
              },
            },
          ],
        });
        expect(refused.status).toBe(400);
        expect(refused.body.errors).toEqual([
          {
            path: '$.body.steps[0].with.sql',
            message: expect.stringContaining('must be a constant'),
          },
        ]);

        const bad = await createWorkflow({
          name: `postgres-bad-${mode}`,
          steps: [
            {
              id: 'q',
              type: 'postgres.query',
              with: { credential: 'shopdb', sql: 'SELECT * FROM nowhere' },
            },
          ],
        });
        const failed = await startAndWait(bad, {}, 30_000);
        expect(failed).toMatchObject({ status: 'failed', error: { code: 'query_failed' } });
        expect(failed.error.message).toContain('42P01');
      }, 60_000);
    });

    describe('email.send', () => {
      let smtp: SMTPServer;
      let port: number;
      const received: { from: string; to: string[]; data: string }[] = [];

      beforeAll(async () => {
        smtp = new SMTPServer({
          authOptional: true,
          disabledCommands: ['STARTTLS'],
          logger: false,
          // The workers keep their SMTP connections open (pooled): close them when the suite ends.
          closeTimeout: 500,
          onRcptTo(address, _session, callback) {
            if (address.address.startsWith('nobody@')) {
              return callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
            }
            callback();
          },
          onData(stream, session, callback) {
            const chunks: Buffer[] = [];
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            stream.on('end', () => {
              received.push({
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
                data: Buffer.concat(chunks).toString(),
              });
              callback();
            });
          },
        });
        await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
        port = (smtp.server.address() as { port: number }).port;
      });
      afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

      it('sends through a real SMTP server with a Message-ID made from the step key; a 5xx is not retried', async () => {
        await api.post('/v1/credentials', {
          name: 'mail',
          type: 'smtp',
          data: { host: '127.0.0.1', port, secure: false },
        });
        const id = await createWorkflow({
          name: `email-${mode}`,
          steps: [
            {
              id: 'mail',
              type: 'email.send',
              with: {
                credential: 'mail',
                from: 'weft@example.com',
                to: ['{{ input.to }}'],
                cc: 'audit@example.com',
                subject: 'Order {{ input.n }} shipped',
                text: 'Your order {{ input.n }} is on its way.',
              },
            },
          ],
          output: '{{ steps.mail.output }}',
        });
        const run = await api.waitForRun(
          (await api.post(`/v1/workflows/${id}/runs`, { input: { n: 42, to: 'ada@example.com' } }))
            .body.id,
          undefined,
          30_000,
        );
        expect(run).toMatchObject({
          status: 'succeeded',
          output: {
            messageId: expect.stringMatching(/^<[0-9a-f]{32}@weft>$/),
            accepted: ['ada@example.com', 'audit@example.com'],
            rejected: [],
          },
        });
        const mail = received.find((m) => m.data.includes('Order 42 shipped'))!;
        expect(mail).toBeDefined();
        expect(mail.from).toBe('weft@example.com');
        expect(mail.to).toEqual(['ada@example.com', 'audit@example.com']);
        expect(mail.data).toContain(`Message-ID: ${run.output.messageId as string}`);
        expect(mail.data).toContain(`X-Weft-Idempotency-Key: ${run.id}:mail`);

        // A recipient refused beside an accepted one is reported; all refused is a 5xx.
        const partial = await startAndWait(
          id,
          {
            input: { n: 43, to: 'nobody@example.com' },
          },
          30_000,
        );
        expect(partial.output).toMatchObject({
          accepted: ['audit@example.com'],
          rejected: ['nobody@example.com'],
        });
        const lonely = await createWorkflow({
          name: `email-refused-${mode}`,
          steps: [
            {
              id: 'mail',
              type: 'email.send',
              with: {
                credential: 'mail',
                from: 'weft@example.com',
                to: 'nobody@example.com',
                subject: 'x',
                text: 'x',
              },
            },
          ],
        });
        const refused = await startAndWait(lonely, {}, 30_000);
        expect(refused).toMatchObject({ status: 'failed', error: { code: 'smtp_rejected' } });
        expect(refused.steps[0].attempts).toBe(1);
      }, 60_000);
    });

    describe('AI: fallback providers, ai.extract and budgets', () => {
      /** The value of a metric line with these labels, from any process's /metrics. */
      async function metricValue(name: string, labels: Record<string, string>) {
        for (const url of target.metricsUrls) {
          const text = await (await fetch(url)).text();
          const line = text
            .split('\n')
            .find(
              (l) =>
                l.startsWith(`${name}{`) &&
                Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
            );
          if (line) return Number(line.split(' ').at(-1));
        }
        return undefined;
      }

      /**
       * A new tenant with an `openai` credential `llm` on `llm` and a one-step `ai.chat`
       * workflow of `maxTokens`; `run` starts a run of it and answers it once ended.
       */
      async function chattyTenant(
        name: string,
        llm: { baseUrl: string },
        apiKey: string,
        maxTokens: number,
      ) {
        const tenant = await anon.newTenant(target.adminKey, name);
        await tenant.post('/v1/credentials', {
          name: 'llm',
          type: 'openai',
          data: { baseUrl: llm.baseUrl, apiKey },
        });
        const created = await tenant.post('/v1/workflows', {
          name: 'chatty',
          steps: [
            {
              id: 'answer',
              type: 'ai.chat',
              with: { credential: 'llm', model: 'm', prompt: 'hi', maxTokens },
            },
          ],
        });
        const workflowId = created.body.id as string;
        const run = async (): Promise<any> => {
          const started = await tenant.post(`/v1/workflows/${workflowId}/runs`, {});
          return tenant.waitForRun(started.body.id as string, undefined, 60_000);
        };
        return { tenant, workflowId, run };
      }

      it('moves past a provider answering 503; its breaker opens, then lets one probe through', async () => {
        const [first, second] = await Promise.all([
          startChatCompletionsServer({ apiKey: 'sk-first-0123456789' }),
          startChatCompletionsServer({ apiKey: 'sk-second-0123456789', model: 'backup' }),
        ]);
        try {
          first.behave({ kind: 'fail', status: 503 });
          for (const [name, llm, apiKey] of [
            ['llm-first', first, 'sk-first-0123456789'],
            ['llm-second', second, 'sk-second-0123456789'],
          ] as const) {
            const created = await api.post('/v1/credentials', {
              name,
              type: 'openai',
              data: { baseUrl: llm.baseUrl, apiKey },
            });
            expect(created.status).toBe(201);
          }
          const id = await createWorkflow({
            name: 'fallback-chat',
            steps: [
              {
                id: 'answer',
                type: 'ai.chat',
                with: { credential: ['llm-first', 'llm-second'], model: 'm', prompt: 'hi' },
              },
            ],
            output: '{{ steps.answer.output }}',
          });
          const served = async () => {
            const run = await startAndWait(id, {});
            expect(run.status).toBe('succeeded');
            return run.output.credential as string;
          };
          // Two 503s open the first provider's circuit (WEFT_BREAKER_FAILURES=2) …
          expect([await served(), await served()]).toEqual(['llm-second', 'llm-second']);
          expect(first.requests).toHaveLength(2);
          // … so the next runs go straight to the second one.
          expect([await served(), await served()]).toEqual(['llm-second', 'llm-second']);
          expect(first.requests).toHaveLength(2);
          const circuit = { tenant: api.tenantId, credential: 'llm-first' };
          expect(await metricValue('weft_circuit_breaker_state', circuit)).toBe(1);
          // After the half-open delay one run probes it; still failing, it opens again.
          await new Promise((resolve) => setTimeout(resolve, 1_700));
          expect(await served()).toBe('llm-second');
          expect(first.requests).toHaveLength(3);
          expect(await served()).toBe('llm-second');
          expect(first.requests).toHaveLength(3);
          // Recovered: the next probe succeeds and closes the circuit.
          first.behave({ kind: 'answer' });
          await new Promise((resolve) => setTimeout(resolve, 1_700));
          expect(await served()).toBe('llm-first');
          expect(await served()).toBe('llm-first');
          expect(first.requests).toHaveLength(5);
          expect(await metricValue('weft_circuit_breaker_state', circuit)).toBe(0);
        } finally {
          await first.close();
          await second.close();
        }
      }, 60_000);

      it('ai.extract sends an invalid answer back with its errors and answers the repaired data', async () => {
        const apiKey = 'sk-extract-0123456789';
        const llm = await startChatCompletionsServer({
          apiKey,
          // Invalid first (age as words); valid once the validation errors came back.
          reply: (messages) =>
            messages.at(-1)?.content.includes('does not match the JSON Schema')
              ? '{"name":"Ada","age":36}'
              : '{"name":"Ada","age":"thirty-six"}',
        });
        try {
          await api.post('/v1/credentials', {
            name: 'llm-extract',
            type: 'openai',
            data: { baseUrl: llm.baseUrl, apiKey },
          });
          const id = await createWorkflow({
            name: 'extract-person',
            steps: [
              {
                id: 'person',
                type: 'ai.extract',
                with: {
                  credential: 'llm-extract',
                  model: 'm',
                  prompt: '{{ input.text }}',
                  schema: {
                    type: 'object',
                    required: ['name', 'age'],
                    properties: { name: { type: 'string' }, age: { type: 'integer' } },
                  },
                },
              },
            ],
            output: '{{ steps.person.output.data }}',
          });
          const run = await startAndWait(id, { input: { text: 'Ada Lovelace, 36' } });
          expect(run).toMatchObject({ status: 'succeeded', output: { name: 'Ada', age: 36 } });
          expect(run.steps[0].output).toMatchObject({ repairs: 1, credential: 'llm-extract' });
          expect(llm.requests).toHaveLength(2);
          expect(JSON.stringify(llm.requests[1]?.body['messages'])).toContain('#/age');
          const usage = run.steps[0].output.usage as { inputTokens: number; outputTokens: number };
          const month = new Date().toISOString().slice(0, 7);
          const ledger = await api.get(`/v1/usage?month=${month}`);
          expect(ledger.body.byWorkflow).toContainEqual({
            workflowId: id,
            calls: 2,
            ...usage,
          });
          // A schema with a pattern RE2 cannot run is refused at save time, at its path.
          const refused = await api.post('/v1/workflows', {
            name: 'bad-schema',
            steps: [
              {
                id: 'x',
                type: 'ai.extract',
                with: {
                  credential: 'llm-extract',
                  model: 'm',
                  prompt: 'p',
                  schema: { type: 'string', pattern: '(a)\\1' },
                },
              },
            ],
          });
          expect(refused.status).toBe(400);
          expect(refused.body.errors).toContainEqual({
            path: '$.body.steps[0].with.schema',
            message: expect.stringContaining('is not supported'),
          });
        } finally {
          await llm.close();
        }
      });

      it('a budget of 100 tokens refuses the second call with budget_exceeded, before sending it', async () => {
        const apiKey = 'sk-budget-0123456789';
        const llm = await startChatCompletionsServer({ apiKey, reply: () => 'word '.repeat(80) });
        const {
          tenant: budgeted,
          workflowId: id,
          run,
        } = await chattyTenant('budgeted', llm, apiKey, 20);
        try {
          expect(await budgeted.put('/v1/budgets', { monthlyTokens: 100 })).toMatchObject({
            status: 200,
            body: { monthlyTokens: 100 },
          });
          expect((await budgeted.put('/v1/budgets', { monthlyTokens: -1 })).status).toBe(400);
          expect((await run()).status).toBe('succeeded');
          const second = await run();
          expect(second).toMatchObject({ status: 'failed' });
          expect(second.steps[0]).toMatchObject({
            attempts: 1,
            error: { code: 'budget_exceeded', retryable: false },
          });
          expect(llm.requests).toHaveLength(1);
          const usage = await budgeted.get('/v1/usage');
          expect(usage.body).toMatchObject({
            monthlyTokens: 100,
            tokens: 81,
            reservedTokens: 0,
            remainingTokens: 19,
            byModel: [
              { provider: 'openai', model: 'm', calls: 1, inputTokens: 1, outputTokens: 80 },
            ],
            byWorkflow: [{ workflowId: id, calls: 1 }],
          });
          expect((await budgeted.get('/v1/usage?month=2026-13')).status).toBe(400);
        } finally {
          await llm.close();
        }
      });

      it('20 concurrent calls under a budget never charge more than it', async () => {
        const apiKey = 'sk-many-0123456789';
        // 1 input and 49 output tokens a call; each holds 1 + 8 + 100 while in flight.
        const llm = await startChatCompletionsServer({ apiKey, reply: () => 'ok '.repeat(49) });
        const { tenant: budgeted, run } = await chattyTenant('concurrent', llm, apiKey, 100);
        try {
          await budgeted.put('/v1/budgets', { monthlyTokens: 1000 });
          const runs = await Promise.all(Array.from({ length: 20 }, run));
          const succeeded = runs.filter((run) => run.status === 'succeeded');
          const refused = runs.filter((run) => run.status === 'failed');
          expect(succeeded.length + refused.length).toBe(20);
          expect(refused.length).toBeGreaterThan(0);
          for (const run of refused) {
            expect(run.steps[0].error.code).toBe('budget_exceeded');
          }
          const usage = await budgeted.get('/v1/usage');
          expect(usage.body.tokens).toBeLessThanOrEqual(1000);
          expect(usage.body.tokens).toBe(succeeded.length * 50);
          expect(llm.requests).toHaveLength(succeeded.length);
        } finally {
          await llm.close();
        }
      }, 90_000);
    });

    describe('credentials and isolation', () => {
      it('uses a credential without ever showing its secret', async () => {
        const secret = `s3cr3t-${Date.now()}`;
        const created = await api.post('/v1/credentials', {
          name: 'echo-token',
          type: 'http.bearer',
          data: { token: secret, allowedHosts: [new URL(echo.url).host] },
        });
        expect(created.status).toBe(201);
        expect(JSON.stringify(created.body)).not.toContain(secret);
        const listed = await api.get('/v1/credentials');
        expect(JSON.stringify(listed.body)).not.toContain(secret);
        const id = await createWorkflow({
          name: 'with-credential',
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: { method: 'GET', url: `${echo.url}/private`, credential: 'echo-token' },
            },
          ],
        });
        const run = await api.waitForRun((await api.post(`/v1/workflows/${id}/runs`, {})).body.id);
        expect(run.status).toBe('succeeded');
        expect(echo.callsTo('/private').at(-1)!.headers.authorization).toBe(`Bearer ${secret}`);
        // Nothing of the run (input, step outputs, errors) holds the secret.
        expect(JSON.stringify(run)).not.toContain(secret);

        // Rotation: PUT replaces the data (checked against the type); the next call uses it.
        const rotated = `r0tated-${Date.now()}`;
        const invalid = await api.put('/v1/credentials/echo-token', { data: { token: '' } });
        expect(invalid.status).toBe(400);
        const replaced = await api.put('/v1/credentials/echo-token', {
          data: { token: rotated, allowedHosts: [new URL(echo.url).host] },
        });
        expect(replaced.status).toBe(200);
        expect(replaced.body).toMatchObject({ name: 'echo-token', type: 'http.bearer' });
        expect(Date.parse(replaced.body.updatedAt as string)).toBeGreaterThanOrEqual(
          Date.parse(replaced.body.createdAt as string),
        );
        expect(JSON.stringify(replaced.body)).not.toContain(rotated);
        const again = await startAndWait(id, {});
        expect(again.status).toBe('succeeded');
        expect(echo.callsTo('/private').at(-1)!.headers.authorization).toBe(`Bearer ${rotated}`);
        expect((await api.put('/v1/credentials/no-such', { data: { token: 'x' } })).status).toBe(
          404,
        );
      });

      it('never sends a credential to a host outside its allowedHosts', async () => {
        const secret = `b0und-${Date.now()}`;
        const refused = await api.post('/v1/credentials', {
          name: 'unbound',
          type: 'http.bearer',
          data: { token: secret },
        });
        expect(refused.status).toBe(400);
        expect(refused.body.errors).toEqual([
          { path: '$.body.data.allowedHosts', message: expect.stringMatching(/^required/) },
        ]);
        const created = await api.post('/v1/credentials', {
          name: 'bound-token',
          type: 'http.bearer',
          data: { token: secret, allowedHosts: ['api.example.com'] },
        });
        expect(created.status).toBe(201);
        const id = await createWorkflow({
          name: 'with-bound-credential',
          steps: [
            {
              id: 'call',
              type: 'http.request',
              with: { method: 'GET', url: `${echo.url}/stolen`, credential: 'bound-token' },
            },
          ],
        });
        const run = await api.waitForRun((await api.post(`/v1/workflows/${id}/runs`, {})).body.id);
        expect(run.status).toBe('failed');
        expect(run.steps[0]).toMatchObject({
          status: 'failed',
          attempts: 1,
          error: { code: 'credential_host_denied', retryable: false },
        });
        expect(echo.callsTo('/stolen')).toEqual([]);
        expect(JSON.stringify(run)).not.toContain(secret);
      });

      it('runs ai.chat against an OpenAI-compatible server, with usage in the output', async () => {
        const apiKey = `sk-test-${Date.now()}`;
        const llm = await startChatCompletionsServer({ apiKey });
        try {
          const created = await api.post('/v1/credentials', {
            name: 'llm',
            type: 'openai',
            data: { baseUrl: llm.baseUrl, apiKey },
          });
          expect(created.status).toBe(201);
          const id = await createWorkflow({
            name: 'ask',
            steps: [
              {
                id: 'answer',
                type: 'ai.chat',
                with: { credential: 'llm', model: 'gpt-4o-mini', prompt: 'Say {{ input.word }}' },
              },
            ],
            output: '{{ steps.answer.output.text }}',
          });
          const started = await api.post(`/v1/workflows/${id}/runs`, { input: { word: 'hi' } });
          const run = await api.waitForRun(started.body.id);
          expect(run).toMatchObject({ status: 'succeeded', output: 'echo: Say hi' });
          expect(run.steps[0].output).toMatchObject({
            provider: 'openai',
            usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
          });
          expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${apiKey}`);
          expect(JSON.stringify(run)).not.toContain(apiKey);
        } finally {
          await llm.close();
        }
      });

      it('keeps tenants apart', async () => {
        const other = await anon.newTenant(target.adminKey, 'globex');
        const id = await createWorkflow(threeSteps('private'));
        const runId = (await api.post(`/v1/workflows/${id}/runs`, {})).body.id;
        expect((await other.get(`/v1/workflows/${id}`)).status).toBe(404);
        expect((await other.get(`/v1/runs/${runId}`)).status).toBe(404);
        expect((await other.post(`/v1/workflows/${id}/runs`, {})).status).toBe(404);
        expect((await other.get('/v1/runs')).body.items).toEqual([]);
        expect((await other.get('/v1/credentials')).body.items).toEqual([]);
      });
    });

    describe('metrics', () => {
      /** The sum over every process of the samples of `name` that have these labels. */
      async function total(name: string, labels: Record<string, string> = {}): Promise<number> {
        let sum = 0;
        for (const url of target.metricsUrls) {
          for (const line of (await (await fetch(url)).text()).split('\n')) {
            const sample = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
            if (sample?.[1] !== name) continue;
            const has = Object.entries(labels).every(([k, v]) =>
              (sample[2] ?? '').includes(`${k}="${v}"`),
            );
            if (has) sum += Number(sample[3]);
          }
        }
        return sum;
      }

      it('serves every family of each service, with its type, on every process', async () => {
        const id = await createWorkflow(threeSteps('metrics'));
        const run = await startAndWait(id, { input: { name: 'metrics' } });
        expect(run.status).toBe('succeeded');

        const missing: string[] = [];
        for (const [process, url] of Object.entries(target.metricsByProcess)) {
          const response = await fetch(url);
          expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
          const text = await response.text();
          const service = process.split('#')[0] as MetricService | 'standalone';
          for (const family of Object.values(METRICS)) {
            const served: readonly string[] = family.servedBy;
            const expected =
              service === 'standalone' ? served.length > 0 : served.includes(service);
            if (expected && !text.includes(`\n# TYPE ${family.name} ${family.type}\n`)) {
              missing.push(`${process}: ${family.name} (${family.type})`);
            }
          }
          // Every process counts its own HTTP requests (in the stack, at least its /ready polls).
          expect(text).toMatch(
            /^weft_http_requests_total\{method="GET",route="\/[^"]*",code="200"\} \d+$/m,
          );
        }
        expect(missing).toEqual([]);

        // Values, summed over the processes (either engine may have applied the run).
        expect(await total('weft_runs_started_total')).toBeGreaterThanOrEqual(1);
        expect(
          await total('weft_runs_finished_total', { status: 'succeeded' }),
        ).toBeGreaterThanOrEqual(1);
        expect(
          await total('weft_step_attempts_total', { type: 'http.request', outcome: 'succeeded' }),
        ).toBeGreaterThanOrEqual(1);
        expect(
          await total('weft_step_duration_seconds_count', { type: 'http.request' }),
        ).toBeGreaterThanOrEqual(1);
        expect(
          await total('weft_http_requests_total', {
            method: 'POST',
            route: '/v1/workflows/:id/runs',
            code: '202',
          }),
        ).toBeGreaterThanOrEqual(1);
        expect(
          await total('weft_db_pool_connections', { database: 'gateway' }),
        ).toBeGreaterThanOrEqual(1);
        // Never a raw URL, nor a run's id, in a label.
        for (const url of target.metricsUrls) {
          expect(await (await fetch(url)).text()).not.toContain(run.id as string);
        }
      }, 60_000);
    });
  });
}
