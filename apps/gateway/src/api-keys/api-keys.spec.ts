import { randomUUID } from 'node:crypto';
import { WorkflowRpc } from '@weft/contracts';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { hashApiKey } from '../tenants/api-key';
import { LastUsedRecorder } from '../tenants/last-used.recorder';

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}
type KeyCreated = KeyView & { key: string };

describe('/v1/api-keys', () => {
  let gateway: TestGateway;
  let tenantId: string;
  let authorization: string;
  beforeEach(async () => {
    gateway = await startTestGateway();
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => ({ items: [], nextCursor: null }));
    ({ tenantId, authorization } = await gateway.createTenant());
  });
  afterEach(() => gateway.app.close());

  const bearer = (key: string) => `Bearer ${key}`;
  const send = (
    app: TestGateway['app'],
    method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    as: string,
    payload?: unknown,
  ) =>
    app.inject({
      method,
      url,
      headers: { authorization: as },
      ...(payload !== undefined && { payload: payload as Record<string, unknown> }),
    });
  const createKey = async (body: Record<string, unknown>, as = authorization) => {
    const response = await send(gateway.app, 'POST', '/v1/api-keys', as, body);
    expect(response.statusCode).toBe(201);
    return response.json<KeyCreated>();
  };
  const listKeys = async (as = authorization) => {
    const response = await send(gateway.app, 'GET', '/v1/api-keys', as);
    expect(response.statusCode).toBe(200);
    return response.json<{ items: KeyView[] }>().items;
  };
  const listWorkflows = (as: string, app = gateway.app) => send(app, 'GET', '/v1/workflows', as);
  const saveWorkflow = (as: string) =>
    send(gateway.app, 'POST', '/v1/workflows', as, {
      name: 'x',
      steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
    });

  it('issues a second key, shown once, that works as the first and is stored as a hash', async () => {
    const created = await createKey({ name: 'ci' });
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'ci',
      scopes: ['write'],
      prefix: created.key.slice(0, 10),
      createdAt: expect.any(String),
      expiresAt: null,
      lastUsedAt: null,
      key: expect.stringMatching(/^wk_[A-Za-z0-9_-]{43}$/),
    });
    expect(gateway.database.keys.get(hashApiKey(created.key).toString('hex'))).toMatchObject({
      id: created.id,
      tenantId,
      name: 'ci',
    });
    expect(JSON.stringify([...gateway.database.keys])).not.toContain(created.key);
    expect((await listWorkflows(bearer(created.key))).statusCode).toBe(200);
    expect(gateway.rpc.lastRequest('workflows.list')).toMatchObject({ tenantId });
    // The first key keeps working alongside.
    expect((await listWorkflows(authorization)).statusCode).toBe(200);
  });

  it('lets a read key GET, event streams included, and refuses it anything else with 403', async () => {
    const reader = bearer((await createKey({ name: 'dashboard', scopes: ['read'] })).key);
    expect((await listWorkflows(reader)).statusCode).toBe(200);
    expect((await send(gateway.app, 'HEAD', '/v1/workflows', reader)).statusCode).toBe(200);
    expect((await send(gateway.app, 'GET', '/v1/api-keys', reader)).statusCode).toBe(200);
    gateway.reads.on('events', async () => ({
      items: [],
      lastSeq: 0,
      ended: true,
    }));
    const events = await gateway.app.inject({
      method: 'GET',
      url: `/v1/runs/${randomUUID()}/events`,
      headers: { authorization: reader, accept: 'application/json' },
    });
    expect(events.statusCode).toBe(200);

    const calls = gateway.rpc.calls.length + gateway.reads.calls.length;
    const refused = [
      await saveWorkflow(reader),
      await send(gateway.app, 'POST', '/v1/api-keys', reader, { name: 'escalate' }),
      await send(gateway.app, 'DELETE', `/v1/api-keys/${randomUUID()}`, reader),
      await send(gateway.app, 'PUT', '/v1/budgets', reader, { monthlyTokens: 1 }),
    ];
    for (const response of refused) {
      expect(response.statusCode).toBe(403);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['www-authenticate']).toBe(
        'Bearer error="insufficient_scope", scope="write"',
      );
      expect(response.json()).toEqual({
        type: 'urn:weft:problem:insufficient-scope',
        title: 'Insufficient scope',
        status: 403,
        detail: 'this request needs an API key with the write scope',
      });
    }
    // Refused before any work: nothing reached a service.
    expect(gateway.rpc.calls.length + gateway.reads.calls.length).toBe(calls);
    expect((await listKeys()).map((key) => key.name)).toEqual(['default', 'dashboard']);
  });

  it('stores scopes in order, and a read+write key may write', async () => {
    const both = await createKey({ name: 'both', scopes: ['write', 'read'] });
    expect(both.scopes).toEqual(['read', 'write']);
    gateway.rpc.on(WorkflowRpc, 'workflows.create', async () => {
      throw new Error('reached the service');
    });
    // Past the guard: the fake service's failure is a 500, not a 403.
    expect((await saveWorkflow(bearer(both.key))).statusCode).toBe(500);
  });

  it('refuses a revoked key with 401 saying so, at once on the gateway that revoked it', async () => {
    const created = await createKey({ name: 'old' });
    const key = bearer(created.key);
    expect((await listWorkflows(key)).statusCode).toBe(200); // now cached
    const revoked = await send(gateway.app, 'DELETE', `/v1/api-keys/${created.id}`, authorization);
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');
    const refused = await listWorkflows(key);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    expect(refused.json()).toEqual({
      type: 'urn:weft:problem:unauthorized',
      title: 'Unauthorized',
      status: 401,
      detail: 'the API key was revoked',
    });
    // The row stays, marked revoked; the list no longer shows it.
    expect(gateway.database.keyNamed(tenantId, 'old')).toBeUndefined();
    expect(
      gateway.database.keys.get(hashApiKey(created.key).toString('hex'))?.revokedAt,
    ).toBeInstanceOf(Date);
    expect((await listKeys()).map((k) => k.id)).not.toContain(created.id);
    // Revoked already, unknown, another tenant's, or not an id.
    const other = await gateway.createTenant('globex');
    const mine = await createKey({ name: 'mine' });
    for (const [url, as] of [
      [`/v1/api-keys/${created.id}`, authorization],
      [`/v1/api-keys/${randomUUID()}`, authorization],
      [`/v1/api-keys/${mine.id}`, other.authorization],
    ] as const) {
      const response = await send(gateway.app, 'DELETE', url, as);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ type: 'urn:weft:problem:api-key-not-found' });
    }
    expect((await listWorkflows(bearer(mine.key))).statusCode).toBe(200);
    const notAnId = await send(gateway.app, 'DELETE', '/v1/api-keys/nope', authorization);
    expect(notAnId.statusCode).toBe(400);
    expect(notAnId.json().errors).toEqual([{ path: '$.params.id', message: expect.any(String) }]);
  });

  it('lets a tenant revoke the key it calls with', async () => {
    const [first] = await listKeys();
    const response = await send(gateway.app, 'DELETE', `/v1/api-keys/${first!.id}`, authorization);
    expect(response.statusCode).toBe(204);
    expect((await listWorkflows(authorization)).json()).toMatchObject({
      status: 401,
      detail: 'the API key was revoked',
    });
  });

  it('refuses a revoked key on another replica within 1 s', async () => {
    // A second gateway on the same table: what each reads of a key it keeps 1 s at most.
    const replica = await startTestGateway({ database: gateway.database });
    try {
      replica.rpc.on(WorkflowRpc, 'workflows.list', async () => ({ items: [], nextCursor: null }));
      const created = await createKey({ name: 'shared' });
      const key = bearer(created.key);
      expect((await listWorkflows(key, replica.app)).statusCode).toBe(200); // cached there
      const revokedAt = Date.now();
      expect(
        (await send(gateway.app, 'DELETE', `/v1/api-keys/${created.id}`, authorization)).statusCode,
      ).toBe(204);
      // Each request the replica still admitted began within 1 s of the revocation: one that
      // begins later finds what the replica read of the key too old to trust.
      let refused;
      let admitted = 0;
      while (!refused) {
        const startedAt = Date.now();
        const response = await listWorkflows(key, replica.app);
        if (response.statusCode === 401) refused = response;
        else {
          expect(response.statusCode).toBe(200);
          expect(startedAt - revokedAt).toBeLessThan(1_000);
          admitted++;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(refused.json().detail).toBe('the API key was revoked');
      // It did trust its cache for a while: the case this is about.
      expect(admitted).toBeGreaterThan(0);
    } finally {
      await replica.app.close();
    }
  });

  it('refuses an expired key with 401 naming when it expired, cached or not', async () => {
    const soon = new Date(Date.now() + 300).toISOString();
    const brief = await createKey({ name: 'brief', expiresAt: soon });
    expect(brief.expiresAt).toBe(soon);
    expect((await listWorkflows(bearer(brief.key))).statusCode).toBe(200); // now cached
    await new Promise((resolve) => setTimeout(resolve, 350));
    const refused = await listWorkflows(bearer(brief.key));
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({
      type: 'urn:weft:problem:unauthorized',
      title: 'Unauthorized',
      status: 401,
      detail: `the API key expired at ${soon}`,
    });

    // Read from the table when it had expired already (time passed while nobody used it).
    const later = await createKey({ name: 'later', expiresAt: '2999-01-01T00:00:00+02:00' });
    expect(later.expiresAt).toBe('2998-12-31T22:00:00.000Z');
    gateway.database.keyNamed(tenantId, 'later')!.expiresAt = new Date('2020-01-01T00:00:00Z');
    expect((await listWorkflows(bearer(later.key))).json().detail).toBe(
      'the API key expired at 2020-01-01T00:00:00.000Z',
    );
    // Still listed, so it can be seen and revoked.
    expect((await listKeys()).map((key) => key.name)).toEqual(['default', 'brief', 'later']);
  });

  it('refuses an expiry that is not in the future, at its path', async () => {
    for (const expiresAt of [new Date(Date.now() - 1_000).toISOString(), 'tomorrow', 5]) {
      const response = await send(gateway.app, 'POST', '/v1/api-keys', authorization, {
        name: 'x',
        expiresAt,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().errors).toEqual([
        { path: '$.body.expiresAt', message: expect.any(String) },
      ]);
    }
    const past = await send(gateway.app, 'POST', '/v1/api-keys', authorization, {
      name: 'x',
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(past.json().errors[0].message).toMatch(/future/);
  });

  it('checks the name and scopes', async () => {
    for (const [body, path] of [
      [{ name: '' }, '$.body.name'],
      [{ name: '   ' }, '$.body.name'],
      [{ name: 'x'.repeat(101) }, '$.body.name'],
      [{}, '$.body.name'],
      [{ name: 'x', scopes: [] }, '$.body.scopes'],
      [{ name: 'x', scopes: ['admin'] }, '$.body.scopes[0]'],
      [{ name: 'x', scopes: ['read', 'read'] }, '$.body.scopes'],
      [{ name: 'x', scopes: 'read' }, '$.body.scopes'],
      [{ name: 'x', plan: 'gold' }, '$.body.plan'],
    ] as const) {
      const response = await send(gateway.app, 'POST', '/v1/api-keys', authorization, body);
      expect([response.statusCode, response.json().errors?.[0]?.path]).toEqual([400, path]);
    }
    expect((await createKey({ name: 'x'.repeat(100) })).name).toHaveLength(100);
    expect((await createKey({ name: '  padded  ' })).name).toBe('padded');
  });

  it('lists live keys without the key or its hash', async () => {
    const ci = await createKey({ name: 'ci', scopes: ['read'] });
    const gone = await createKey({ name: 'gone' });
    await send(gateway.app, 'DELETE', `/v1/api-keys/${gone.id}`, authorization);
    const response = await send(gateway.app, 'GET', '/v1/api-keys', authorization);
    const items = response.json<{ items: KeyView[] }>().items;
    expect(items.map((key) => [key.name, key.scopes])).toEqual([
      ['default', ['write']],
      ['ci', ['read']],
    ]);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(
        ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'scopes'].sort(),
      );
    }
    const defaultKey = authorization.slice('Bearer '.length);
    for (const secret of [defaultKey, ci.key]) {
      const hash = hashApiKey(secret);
      for (const form of [secret, secret.slice(10), hash.toString('hex'), hash.toString('base64')])
        expect(response.body).not.toContain(form);
    }
    // Another tenant sees only its own.
    const other = await gateway.createTenant('globex');
    expect((await listKeys(other.authorization)).map((key) => key.name)).toEqual(['default']);
  });

  it('answers 409 for a name a live key has, and takes it once that key is revoked', async () => {
    const first = await createKey({ name: 'deploy' });
    const taken = await send(gateway.app, 'POST', '/v1/api-keys', authorization, {
      name: ' deploy ',
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({
      type: 'urn:weft:problem:api-key-name-taken',
      title: 'API key name taken',
      status: 409,
    });
    // The tenant's first key holds its name too; another tenant may use any.
    expect(
      (await send(gateway.app, 'POST', '/v1/api-keys', authorization, { name: 'default' }))
        .statusCode,
    ).toBe(409);
    const other = await gateway.createTenant('globex');
    await createKey({ name: 'deploy' }, other.authorization);

    await send(gateway.app, 'DELETE', `/v1/api-keys/${first.id}`, authorization);
    const second = await createKey({ name: 'deploy' });
    expect(second.id).not.toBe(first.id);
    expect((await listWorkflows(bearer(second.key))).statusCode).toBe(200);
    expect((await listWorkflows(bearer(first.key))).statusCode).toBe(401);
  });

  it('coalesces last-used times: 100 requests, one UPDATE per flush', async () => {
    const ci = await createKey({ name: 'ci' });
    const recorder = gateway.app.get(LastUsedRecorder);
    const writes = gateway.database.lastUsedWrites;
    const before = Date.now();
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => listWorkflows(i % 2 ? authorization : bearer(ci.key))),
    );
    // This gateway shows the uses it has not written yet.
    const shown = await listKeys();
    expect(writes).toEqual([]);
    for (const key of shown) expect(Date.parse(key.lastUsedAt!)).toBeGreaterThanOrEqual(before);

    await recorder.flush();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.sort()).toEqual(shown.map((key) => key.id).sort());
    const stored = gateway.database.keyNamed(tenantId, 'ci')!.lastUsedAt!;
    expect(stored.getTime()).toBeGreaterThanOrEqual(before);
    await recorder.flush(); // nothing new: no statement
    expect(writes).toHaveLength(1);

    // What is left is written on shutdown.
    await listWorkflows(bearer(ci.key));
    await gateway.app.close();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toEqual([ci.id]);
    gateway = await startTestGateway(); // for afterEach
  });
});
