import { randomUUID } from 'node:crypto';
import { WorkflowRpc } from '@weft/contracts';
import { workflowView } from '../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { BODY_LIMIT_BYTES } from './body-limit';
import { MAX_JSON_DEPTH } from '@weft/contracts';

describe('HTTP edge: every failure is problem+json', () => {
  let gateway: TestGateway;
  let authorization: string;
  beforeAll(async () => {
    gateway = await startTestGateway();
    ({ authorization } = await gateway.createTenant());
    gateway.rpc.on(WorkflowRpc, 'workflows.create', async () => workflowView());
    gateway.rpc.on(WorkflowRpc, 'runs.start', async () => {
      throw new Error('a run must not be started');
    });
  });
  afterAll(() => gateway.app.close());

  const expectProblem = (
    response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
    status: number,
  ) => {
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status, type: expect.stringMatching(/^urn:weft:/) });
  };

  it('answers an unknown route 404', async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expectProblem(response, 404);
  });

  it('answers malformed JSON 400', async () => {
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expectProblem(response, 400);
  });

  it('answers a body of an unknown media type 415, and text where JSON is due 400', async () => {
    const xml = await gateway.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization, 'content-type': 'application/xml' },
      payload: '<workflow/>',
    });
    expectProblem(xml, 415);
    const text = await gateway.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization, 'content-type': 'text/plain' },
      payload: 'name: x',
    });
    expectProblem(text, 400);
    expect(text.json().errors).toEqual([{ path: '$.body', message: expect.any(String) }]);
  });

  it('answers a body over the limit 413, and takes one of a full definition', async () => {
    const filler = (size: number) => JSON.stringify({ name: 'big', description: 'x'.repeat(size) });
    const over = await gateway.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization, 'content-type': 'application/json' },
      payload: filler(BODY_LIMIT_BYTES),
    });
    expectProblem(over, 413);
    const atOneMebibyte = await gateway.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      headers: { authorization, 'content-type': 'application/json' },
      payload: filler(1024 * 1024 - 40),
    });
    expect(atOneMebibyte.statusCode).toBe(201);
  });

  it('checks the key before the body', async () => {
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/v1/workflows',
      payload: [],
    });
    expectProblem(response, 401);
  });

  it('answers 10,000 nested arrays in a run input 400 at the path where nesting goes too deep', async () => {
    const depth = 10_000;
    const response = await gateway.app.inject({
      method: 'POST',
      url: `/v1/workflows/${randomUUID()}/runs`,
      headers: { authorization, 'content-type': 'application/json' },
      payload: `{"input":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    });
    expectProblem(response, 400);
    // The body is level 1, `input` level 2: the first array past the limit is this one.
    const path = `$.body.input${'[0]'.repeat(MAX_JSON_DEPTH - 1)}`;
    expect(response.json().errors).toEqual([
      { path, message: `nests deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  });

  it('answers U+0000 in a workflow name, an input string or an object key 400 at its path', async () => {
    const cases: [string, string, string][] = [
      ['/v1/workflows', '{"name":"a\\u0000b"}', '$.body.name'],
      [
        `/v1/workflows/${randomUUID()}/runs`,
        '{"input":{"list":["ok","\\u0000"]}}',
        '$.body.input.list[1]',
      ],
      [
        `/v1/workflows/${randomUUID()}/runs`,
        '{"input":{"a\\u0000":1}}',
        '$.body.input["a\\u0000"]',
      ],
    ];
    for (const [url, payload, path] of cases) {
      const response = await gateway.app.inject({
        method: 'POST',
        url,
        headers: { authorization, 'content-type': 'application/json' },
        payload,
      });
      expectProblem(response, 400);
      expect({ url, errors: response.json().errors }).toEqual({
        url,
        errors: [{ path, message: expect.stringContaining('U+0000') }],
      });
    }
  });
});
