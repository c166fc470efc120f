import { randomUUID } from 'node:crypto';
import { DomainError, encodeCursor, WorkflowRpc } from '@weft/contracts';
import { runSummary, runView, stepView } from '../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';

describe('runs API', () => {
  let gateway: TestGateway;
  let tenantId: string;
  let authorization: string;
  beforeEach(async () => {
    gateway = await startTestGateway();
    ({ tenantId, authorization } = await gateway.createTenant());
  });
  afterEach(() => gateway.app.close());

  const workflowId = randomUUID();

  describe('POST /v1/workflows/{id}/runs', () => {
    const start = (payload?: unknown, headers: Record<string, string> = {}) =>
      gateway.app.inject({
        method: 'POST',
        url: `/v1/workflows/${workflowId}/runs`,
        headers: { authorization, ...headers },
        ...(payload !== undefined && { payload: payload as object }),
      });

    it('answers 202 with the queued run when it creates one', async () => {
      const run = runSummary({ workflowId });
      gateway.rpc.on(WorkflowRpc, 'runs.start', async () => ({ run, created: true }));
      const response = await start(
        { input: { email: 'a@example.com' } },
        { 'idempotency-key': 'k-1' },
      );
      expect(response.statusCode).toBe(202);
      expect(response.json()).toEqual(run);
      expect(response.headers['location']).toBe(`/v1/runs/${run.id}`);
      expect(gateway.rpc.lastRequest('runs.start')).toEqual({
        schemaVersion: 1,
        tenantId,
        workflowId,
        input: { email: 'a@example.com' },
        idempotencyKey: 'k-1',
      });
    });

    it('answers 200 with the same run when the Idempotency-Key named one', async () => {
      const run = runSummary({ workflowId, status: 'running' });
      gateway.rpc.on(WorkflowRpc, 'runs.start', async () => ({ run, created: false }));
      const response = await start({ input: {} }, { 'idempotency-key': 'k-1' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(run);
    });

    it('starts with an empty input when there is no body', async () => {
      gateway.rpc.on(WorkflowRpc, 'runs.start', async () => ({ run: runSummary(), created: true }));
      expect((await start()).statusCode).toBe(202);
      expect((await start({})).statusCode).toBe(202);
      const requests = gateway.rpc.calls.map((call) => call.request);
      expect(requests.map((r) => r['input'])).toEqual([{}, {}]);
      expect(requests.map((r) => r['idempotencyKey'])).toEqual([undefined, undefined]);
    });

    it('answers a bad header, param and body at their paths', async () => {
      const longKey = await start({ input: {} }, { 'idempotency-key': 'k'.repeat(201) });
      expect(longKey.statusCode).toBe(400);
      expect(longKey.json().errors).toEqual([
        { path: '$.headers["idempotency-key"]', message: expect.any(String) },
      ]);
      const badBody = await start({ inputs: {} });
      expect(badBody.json().errors).toEqual([{ path: '$.body.inputs', message: 'unknown field' }]);
      const badId = await gateway.app.inject({
        method: 'POST',
        url: '/v1/workflows/42/runs',
        headers: { authorization },
      });
      expect(badId.json().errors).toEqual([{ path: '$.params.id', message: expect.any(String) }]);
      expect(gateway.rpc.calls).toEqual([]);
    });

    it('answers 404 for a workflow that is not the tenant’s and 409 for an archived one', async () => {
      gateway.rpc.on(WorkflowRpc, 'runs.start', async () => {
        throw new DomainError('workflow_not_found', 'no such workflow');
      });
      expect((await start()).json()).toMatchObject({
        status: 404,
        type: 'urn:weft:problem:workflow-not-found',
      });
      gateway.rpc.on(WorkflowRpc, 'runs.start', async () => {
        throw new DomainError('workflow_archived', 'archived');
      });
      expect((await start()).json()).toMatchObject({
        status: 409,
        type: 'urn:weft:problem:workflow-archived',
      });
    });
  });

  describe('GET /v1/runs', () => {
    const list = (query: string) =>
      gateway.app.inject({ method: 'GET', url: `/v1/runs${query}`, headers: { authorization } });

    beforeEach(() => {
      gateway.reads.on('list', async () => ({
        items: [runSummary()],
        nextCursor: null,
      }));
    });

    it('pages 20 runs by default and passes filters and the cursor on', async () => {
      expect((await list('')).statusCode).toBe(200);
      expect(gateway.reads.lastRequest('list')).toEqual({ tenantId, limit: 20 });
      const cursor = encodeCursor(randomUUID());
      await list(`?workflowId=${workflowId}&status=failed&limit=5&cursor=${cursor}`);
      expect(gateway.reads.lastRequest('list')).toEqual({
        tenantId,
        workflowId,
        status: 'failed',
        limit: 5,
        cursor,
      });
    });

    it('caps the page at 100 and names every bad parameter', async () => {
      const response = await list('?limit=101&status=done&workflowId=x');
      expect(response.statusCode).toBe(400);
      expect(
        response
          .json()
          .errors.map((e: { path: string }) => e.path)
          .sort(),
      ).toEqual(['$.query.limit', '$.query.status', '$.query.workflowId']);
    });
  });

  it('reads a run with its steps', async () => {
    const run = runView({
      steps: [stepView({ status: 'succeeded', attempts: 1, output: { a: 1 } })],
    });
    gateway.reads.on('run', async () => run);
    const response = await gateway.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.id}`,
      headers: { authorization },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(run);
    expect(gateway.reads.lastRequest('run')).toEqual({ tenantId, runId: run.id });
  });

  it.each(['cancel', 'retry'] as const)('answers %s with 202 and the run', async (command) => {
    const run = runSummary({ status: command === 'cancel' ? 'cancelled' : 'running' });
    gateway.rpc.on(WorkflowRpc, `runs.${command}`, async () => run);
    const response = await gateway.app.inject({
      method: 'POST',
      url: `/v1/runs/${run.id}/${command}`,
      headers: { authorization },
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual(run);
    expect(gateway.rpc.lastRequest(`runs.${command}`)).toEqual({
      schemaVersion: 1,
      tenantId,
      runId: run.id,
    });
  });
});
