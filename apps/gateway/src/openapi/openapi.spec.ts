import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { CONSOLE_ROUTES } from '../console/console';

type JsonObject = Record<string, unknown>;

/** Every `$ref` anywhere in a JSON value. */
function refsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsOf);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsOf(inner),
  );
}

describe('GET /v1/openapi.json', () => {
  const registered: string[] = [];
  let gateway: TestGateway;
  let document: {
    openapi: string;
    paths: Record<string, Record<string, JsonObject>>;
    components: JsonObject;
  };
  beforeAll(async () => {
    gateway = await startTestGateway({
      beforeInit: (app) =>
        app
          .getHttpAdapter()
          .getInstance()
          .addHook('onRoute', (route) => {
            for (const method of [route.method].flat()) {
              // Fastify adds a HEAD route for each GET.
              if (method === 'HEAD') continue;
              // The web console's pages and files are served beside the API, not part of it.
              if (CONSOLE_ROUTES.includes(`${method} ${route.url}`)) continue;
              registered.push(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
            }
          }),
    });
    const response = await gateway.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    document = response.json();
  });
  afterAll(() => gateway.app.close());

  it('is an OpenAPI 3.1 document', () => {
    expect(document.openapi).toBe('3.1.0');
  });

  it('serves, without a key, the workflow schema committed as schemas/workflow.json', async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/v1/schemas/workflow.json' });
    expect(response.statusCode).toBe(200);
    const committed: unknown = JSON.parse(
      readFileSync(join(__dirname, '../../../../schemas/workflow.json'), 'utf8'),
    );
    expect(response.json()).toEqual(committed);
  });

  it('types a definition body with the workflow schema, as JSON or YAML', () => {
    const committed = JSON.parse(
      readFileSync(join(__dirname, '../../../../schemas/workflow.json'), 'utf8'),
    ) as JsonObject;
    const { $schema, $id, ...body } = committed;
    expect([$schema, $id]).toEqual([expect.any(String), expect.any(String)]);
    const schemas = document.components['schemas'] as Record<string, JsonObject>;
    expect(schemas['WorkflowDefinition']).toEqual({ ...body, description: expect.any(String) });
    for (const operationId of ['createWorkflow', 'updateWorkflow']) {
      const operation = Object.values(document.paths)
        .flatMap((item) => Object.values(item))
        .find((candidate) => candidate['operationId'] === operationId)!;
      const content = (operation['requestBody'] as { content: JsonObject }).content;
      expect(Object.keys(content)).toEqual(['application/json', 'application/yaml']);
      for (const media of Object.values(content))
        expect(media).toEqual({ schema: { $ref: '#/components/schemas/WorkflowDefinition' } });
    }
  });

  it('describes exactly the routes the gateway registers', () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(registered.length).toBeGreaterThan(0);
    expect(documented.sort()).toEqual([...registered].sort());
  });

  it('references only schemas it defines', () => {
    const schemas = Object.keys(document.components['schemas'] as JsonObject);
    const missing = refsOf(document).filter(
      (ref) => !schemas.includes(ref.replace('#/components/schemas/', '')),
    );
    expect(missing).toEqual([]);
  });

  it('documents parameters, bodies and problem answers from the validating schemas', () => {
    const list = document.paths['/v1/runs']!['get']!;
    expect(list['parameters']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'limit',
          in: 'query',
          required: false,
          schema: expect.objectContaining({
            type: 'integer',
            minimum: 1,
            maximum: 100,
            default: 20,
          }),
        }),
        expect.objectContaining({ name: 'status', in: 'query', required: false }),
      ]),
    );
    const start = document.paths['/v1/workflows/{id}/runs']!['post']!;
    expect(start['parameters']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'id', in: 'path', required: true }),
        expect.objectContaining({ name: 'idempotency-key', in: 'header', required: false }),
      ]),
    );
    expect(start['requestBody']).toMatchObject({ required: false });
    expect(Object.keys(start['responses'] as JsonObject)).toEqual(
      expect.arrayContaining(['200', '202', '400', '401', '404', '500', '503']),
    );
    expect((start['responses'] as Record<string, JsonObject>)['404']).toMatchObject({
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    });
    const credential = (document.components['schemas'] as Record<string, JsonObject>)[
      'CreateCredentialRequest'
    ];
    expect(credential?.['oneOf']).toHaveLength(10);
  });

  it('documents 403 where a read key is refused: every API-key route but GETs', () => {
    const statuses = (path: string, method: string) =>
      Object.keys(document.paths[path]![method]!['responses'] as JsonObject);
    expect(statuses('/v1/api-keys', 'post')).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '409']),
    );
    expect(statuses('/v1/api-keys/{id}', 'delete')).toEqual(
      expect.arrayContaining(['204', '401', '403', '404']),
    );
    expect(statuses('/v1/api-keys', 'get')).not.toContain('403');
    expect(statuses('/v1/tenants', 'post')).not.toContain('403');
    const created = (document.components['schemas'] as Record<string, JsonObject>)['ApiKeyCreated'];
    expect(Object.keys(created?.['properties'] as JsonObject)).toContain('key');
    const listed = JSON.stringify(
      (document.components['schemas'] as Record<string, JsonObject>)['ApiKeyList'],
    );
    expect(listed).not.toContain('"key"');
  });

  it('secures tenant routes with the API key and tenant creation with the admin key', () => {
    expect(document.paths['/v1/workflows']!['get']!['security']).toEqual([{ apiKey: [] }]);
    expect(document.paths['/v1/tenants']!['post']!['security']).toEqual([{ adminKey: [] }]);
    expect(document.paths['/health']!['get']!['security']).toEqual([]);
  });
});
