import { randomUUID } from 'node:crypto';
import { DomainError, WorkflowRpc } from '@weft/contracts';
import { workflowView } from '../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';

describe('workflows API', () => {
  let gateway: TestGateway;
  let tenantId: string;
  let authorization: string;
  beforeEach(async () => {
    gateway = await startTestGateway();
    ({ tenantId, authorization } = await gateway.createTenant());
  });
  afterEach(() => gateway.app.close());

  const request = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    gateway.app.inject({
      method,
      url,
      headers: { authorization },
      ...(payload !== undefined && { payload: payload as object }),
    });

  it('saves a definition: 201 with the workflow and where it lives', async () => {
    const saved = workflowView();
    gateway.rpc.on(WorkflowRpc, 'workflows.create', async () => saved);
    const definition = { name: 'enrich-signup', steps: [{ id: 'a', type: 'transform' }] };
    const response = await request('POST', '/v1/workflows', definition);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual(saved);
    expect(response.headers['location']).toBe(`/v1/workflows/${saved.id}`);
    expect(gateway.rpc.lastRequest('workflows.create')).toEqual({
      schemaVersion: 1,
      tenantId,
      definition,
    });
  });

  it('answers the engine’s definition problems at their path in the request body', async () => {
    gateway.rpc.on(WorkflowRpc, 'workflows.create', async () => {
      throw new DomainError('workflow_definition_invalid', 'the definition has 2 problems', [
        { path: '$.definition.steps[1].needs[0]', message: 'names no step' },
        { path: '$.definition', message: 'is too large' },
      ]);
    });
    const response = await request('POST', '/v1/workflows', { name: 'x', steps: [] });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      type: 'urn:weft:problem:workflow-definition-invalid',
      status: 400,
      errors: [
        { path: '$.body.steps[1].needs[0]', message: 'names no step' },
        { path: '$.body', message: 'is too large' },
      ],
    });
  });

  it('refuses a body that is not a JSON object before calling the engine', async () => {
    const response = await request('POST', '/v1/workflows', ['not', 'an', 'object']);
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ path: '$.body', message: expect.any(String) }]);
    expect(gateway.rpc.calls).toEqual([]);
  });

  it('lists with the default page size, or the one asked for, and passes the cursor on', async () => {
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => ({
      items: [workflowView()],
      nextCursor: 'next',
    }));
    const first = await request('GET', '/v1/workflows');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ items: [{ name: 'enrich-signup' }], nextCursor: 'next' });
    expect(gateway.rpc.lastRequest('workflows.list')).toEqual({
      schemaVersion: 1,
      tenantId,
      limit: 20,
    });
    await request('GET', '/v1/workflows?limit=100&cursor=next');
    expect(gateway.rpc.lastRequest('workflows.list')).toMatchObject({ limit: 100, cursor: 'next' });
  });

  it('answers each bad query parameter at its path', async () => {
    const response = await request('GET', '/v1/workflows?limit=0&cursor=&sort=name');
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.map((e: { path: string }) => e.path)).toEqual([
      '$.query.limit',
      '$.query.cursor',
      '$.query.sort',
    ]);
  });

  it('reads the latest version or one version', async () => {
    const id = randomUUID();
    gateway.rpc.on(WorkflowRpc, 'workflows.get', async ({ version }) =>
      workflowView({ id, version: version ?? 3 }),
    );
    expect((await request('GET', `/v1/workflows/${id}`)).json()).toMatchObject({ version: 3 });
    expect((await request('GET', `/v1/workflows/${id}/versions/2`)).json()).toMatchObject({
      version: 2,
    });
    expect(gateway.rpc.lastRequest('workflows.get')).toEqual({
      schemaVersion: 1,
      tenantId,
      workflowId: id,
      version: 2,
    });
  });

  it('answers bad path parameters at their path', async () => {
    const response = await request('GET', '/v1/workflows/nope/versions/0');
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.map((e: { path: string }) => e.path)).toEqual([
      '$.params.id',
      '$.params.v',
    ]);
  });

  it('answers each error code with its own problem type and its kind’s status', async () => {
    const id = randomUUID();
    gateway.rpc.on(WorkflowRpc, 'workflows.get', async () => {
      throw new DomainError('workflow_not_found', `workflow ${id} does not exist`);
    });
    gateway.rpc.on(WorkflowRpc, 'workflows.update', async () => {
      throw new DomainError('workflow_archived', `workflow ${id} is archived`);
    });
    const missing = await request('GET', `/v1/workflows/${id}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      type: 'urn:weft:problem:workflow-not-found',
      title: 'Workflow not found',
      detail: `workflow ${id} does not exist`,
    });
    const archived = await request('PUT', `/v1/workflows/${id}`, { name: 'x', steps: [] });
    expect(archived.statusCode).toBe(409);
    expect(archived.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(archived.json()).toMatchObject({
      type: 'urn:weft:problem:workflow-archived',
      title: 'Workflow archived',
    });
  });

  it('answers 503 with Retry-After when the engine is unavailable', async () => {
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => {
      throw new DomainError('unavailable', 'no answer within 1000 ms');
    });
    const response = await request('GET', '/v1/workflows');
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('saves a new version with PUT and archives with DELETE (204)', async () => {
    const id = randomUUID();
    gateway.rpc.on(WorkflowRpc, 'workflows.update', async () => workflowView({ id, version: 2 }));
    gateway.rpc.on(WorkflowRpc, 'workflows.archive', async () => ({ schemaVersion: 1 as const }));
    const updated = await request('PUT', `/v1/workflows/${id}`, { name: 'x', steps: [] });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ id, version: 2 });
    const archived = await request('DELETE', `/v1/workflows/${id}`);
    expect(archived.statusCode).toBe(204);
    expect(archived.body).toBe('');
    expect(gateway.rpc.lastRequest('workflows.archive')).toEqual({
      schemaVersion: 1,
      tenantId,
      workflowId: id,
    });
  });
});
