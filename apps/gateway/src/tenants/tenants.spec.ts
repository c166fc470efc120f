import { WorkflowRpc } from '@weft/contracts';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { hashApiKey } from './api-key';
import { TenantCache } from './tenant.cache';

describe('tenants and API keys', () => {
  let gateway: TestGateway;
  beforeEach(async () => {
    gateway = await startTestGateway();
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => ({ items: [], nextCursor: null }));
  });
  afterEach(() => gateway.app.close());

  const listWorkflows = (authorization?: string) =>
    gateway.app.inject({
      method: 'GET',
      url: '/v1/workflows',
      headers: authorization ? { authorization } : {},
    });

  it('creates a tenant with the admin key and shows its API key once, storing a hash', async () => {
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { name: '  Acme  ' },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toEqual({
      tenant: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Acme' },
      apiKey: expect.stringMatching(/^wk_[A-Za-z0-9_-]{43}$/),
    });
    const [stored] = [...gateway.database.keys.entries()];
    expect(stored?.[0]).toHaveLength(64);
    // The tenant's first key: named `default`, and it may do everything.
    expect(stored?.[1]).toMatchObject({
      tenantId: body.tenant.id,
      prefix: body.apiKey.slice(0, 10),
      name: 'default',
      scopes: ['write'],
      expiresAt: null,
      revokedAt: null,
    });
    expect(JSON.stringify([...gateway.database.keys])).not.toContain(body.apiKey);
  });

  it('refuses to create a tenant without the admin key, or with an API key', async () => {
    const { authorization } = await gateway.createTenant();
    for (const headers of [{}, { authorization }, { authorization: 'Bearer wrong' }]) {
      const response = await gateway.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers,
        payload: { name: 'x' },
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('answers a tenant name problem at its path in the body', async () => {
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { name: '', plan: 'gold' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([
      { path: '$.body.name', message: expect.any(String) },
      { path: '$.body.plan', message: 'unknown field' },
    ]);
  });

  it('answers 401 problem+json for a missing, malformed, unknown or admin key', async () => {
    const unknown = `Bearer wk_${'A'.repeat(43)}`;
    for (const authorization of [
      undefined,
      'Basic abc',
      'Bearer nope',
      unknown,
      `Bearer ${ADMIN_KEY}`,
    ]) {
      const response = await listWorkflows(authorization);
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
    expect(gateway.rpc.calls).toEqual([]);
  });

  it('resolves a key to its tenant and passes the tenant id with every call', async () => {
    const acme = await gateway.createTenant('acme');
    const globex = await gateway.createTenant('globex');
    expect((await listWorkflows(acme.authorization)).statusCode).toBe(200);
    expect((await listWorkflows(globex.authorization.replace('Bearer', 'bearer'))).statusCode).toBe(
      200,
    );
    expect(gateway.rpc.calls.map((call) => call.request['tenantId'])).toEqual([
      acme.tenantId,
      globex.tenantId,
    ]);
  });

  it('looks a hot key up once, and a malformed one never', async () => {
    const { authorization } = await gateway.createTenant();
    await Promise.all([1, 2, 3].map(() => listWorkflows(authorization)));
    await listWorkflows(authorization);
    await listWorkflows('Bearer wk_short');
    expect(gateway.database.keyLookups).toBe(1);
  });

  it('looks an unknown well-formed key up once, and a key created here at once', async () => {
    const unknown = `Bearer wk_${'B'.repeat(43)}`;
    const before = gateway.database.keyLookups;
    await Promise.all([1, 2, 3].map(() => listWorkflows(unknown)));
    for (let i = 0; i < 5; i++) expect((await listWorkflows(unknown)).statusCode).toBe(401);
    expect(gateway.database.keyLookups - before).toBe(1);

    const cache = gateway.app.get(TenantCache);
    const forget = jest.spyOn(cache, 'forgetUnknown');
    const { authorization } = await gateway.createTenant('initech');
    const key = authorization.slice('Bearer '.length);
    expect(forget).toHaveBeenCalledWith(hashApiKey(key).toString('base64'));
    expect((await listWorkflows(authorization)).statusCode).toBe(200);
  });
});
