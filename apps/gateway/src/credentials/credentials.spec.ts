import { DomainError, IntegrationRpc } from '@weft/contracts';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';

describe('credentials API', () => {
  const secret = 'sk-live-do-not-leak-0123456789';
  const createdAt = '2025-01-02T03:04:05.000Z';
  let gateway: TestGateway;
  let tenantId: string;
  let authorization: string;
  beforeEach(async () => {
    gateway = await startTestGateway();
    ({ tenantId, authorization } = await gateway.createTenant());
  });
  afterEach(() => gateway.app.close());

  const create = (payload: unknown) =>
    gateway.app.inject({
      method: 'POST',
      url: '/v1/credentials',
      headers: { authorization },
      payload: payload as object,
    });

  it('stores a credential through the vault and answers its metadata only', async () => {
    gateway.rpc.on(IntegrationRpc, 'credentials.create', async ({ name, type }) => ({
      name,
      type,
      createdAt,
      updatedAt: createdAt,
    }));
    const response = await create({
      name: 'llm',
      type: 'openai',
      data: { baseUrl: 'https://api.example.com/v1', apiKey: secret },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({
      name: 'llm',
      type: 'openai',
      createdAt,
      updatedAt: createdAt,
    });
    expect(response.body).not.toContain(secret);
    expect(gateway.rpc.lastRequest('credentials.create')).toEqual({
      schemaVersion: 1,
      tenantId,
      name: 'llm',
      type: 'openai',
      data: { baseUrl: 'https://api.example.com/v1', apiKey: secret },
    });
  });

  it('checks data against its type and answers each problem at its path', async () => {
    const response = await create({
      name: 'bad name!',
      type: 'smtp',
      data: { host: '', port: 'x', token: secret },
    });
    expect(response.statusCode).toBe(400);
    expect(
      response
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['$.body.data.host', '$.body.data.port', '$.body.data.token', '$.body.name']);
    expect(response.body).not.toContain(secret);
    const unknownType = await create({ name: 'x', type: 'ftp', data: {} });
    expect(unknownType.json().errors).toEqual([
      { path: '$.body.type', message: expect.any(String) },
    ]);
    expect(gateway.rpc.calls).toEqual([]);
  });

  it('requires the allowedHosts of an http credential and checks each pattern at its path', async () => {
    const missing = await create({
      name: 'api',
      type: 'http.basic',
      data: { username: 'u', password: secret },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([
      { path: '$.body.data.allowedHosts', message: expect.stringMatching(/^required: the hosts/) },
    ]);
    const bad = await create({
      name: 'api',
      type: 'http.header',
      data: {
        name: 'X-Key',
        value: secret,
        allowedHosts: ['api.example.com', 'https://x.example.com/', '*.com', 'a.example.com:99999'],
      },
    });
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual([
      '$.body.data.allowedHosts[1]',
      '$.body.data.allowedHosts[2]',
      '$.body.data.allowedHosts[3]',
    ]);
    expect(bad.body).not.toContain(secret);
    const empty = await create({
      name: 'api',
      type: 'http.bearer',
      data: { token: secret, allowedHosts: [] },
    });
    expect(empty.json().errors).toEqual([
      { path: '$.body.data.allowedHosts', message: expect.any(String) },
    ]);
    expect(gateway.rpc.calls).toEqual([]);

    gateway.rpc.on(IntegrationRpc, 'credentials.create', async ({ name, type }) => ({
      name,
      type,
      createdAt,
      updatedAt: createdAt,
    }));
    for (const allowedHosts of [['*'], ['api.example.com', '*.example.org:8443', '[::1]:8080']]) {
      const created = await create({
        name: 'api',
        type: 'http.bearer',
        data: { token: secret, allowedHosts },
      });
      expect(created.statusCode).toBe(201);
    }
  });

  it('never logs the body, even when the vault fails', async () => {
    gateway.rpc.on(IntegrationRpc, 'credentials.create', async () => {
      throw new DomainError('internal', 'vault exploded');
    });
    const response = await create({
      name: 'api',
      type: 'http.bearer',
      data: { token: secret, allowedHosts: ['api.example.com'] },
    });
    expect(response.statusCode).toBe(500);
    expect(gateway.logs()).toContain('vault exploded');
    expect(gateway.logs()).not.toContain(secret);
  });

  it('answers 409 for a name in use', async () => {
    gateway.rpc.on(IntegrationRpc, 'credentials.create', async () => {
      throw new DomainError('credential_exists', 'credential api exists');
    });
    const response = await create({
      name: 'api',
      type: 'http.bearer',
      data: { token: secret, allowedHosts: ['api.example.com'] },
    });
    expect(response.statusCode).toBe(409);
    expect(response.json().type).toBe('urn:weft:problem:credential-exists');
  });

  it('lists metadata and deletes by name', async () => {
    gateway.rpc.on(IntegrationRpc, 'credentials.list', async () => ({
      items: [{ name: 'api', type: 'http.bearer' as const, createdAt, updatedAt: createdAt }],
    }));
    gateway.rpc.on(IntegrationRpc, 'credentials.delete', async () => ({
      schemaVersion: 1 as const,
    }));
    const list = await gateway.app.inject({
      method: 'GET',
      url: '/v1/credentials',
      headers: { authorization },
    });
    expect(list.json()).toEqual({
      items: [{ name: 'api', type: 'http.bearer', createdAt, updatedAt: createdAt }],
    });
    const deleted = await gateway.app.inject({
      method: 'DELETE',
      url: '/v1/credentials/api',
      headers: { authorization },
    });
    expect(deleted.statusCode).toBe(204);
    expect(gateway.rpc.lastRequest('credentials.delete')).toEqual({
      schemaVersion: 1,
      tenantId,
      name: 'api',
    });
    const badName = await gateway.app.inject({
      method: 'DELETE',
      url: '/v1/credentials/%20x',
      headers: { authorization },
    });
    expect(badName.json().errors).toEqual([{ path: '$.params.name', message: expect.any(String) }]);
  });
});
