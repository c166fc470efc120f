/** A reply as the tests look at it. */
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny HTTP client for the API, authenticated with one key. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly key?: string,
  ) {}

  as(key: string): Api {
    return new Api(this.baseUrl, key);
  }

  get<T = any>(path: string, headers: Record<string, string> = {}): Promise<Reply<T>> {
    return this.send('GET', path, undefined, headers);
  }

  post<T = any>(
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    return this.send('POST', path, body, headers);
  }

  put<T = any>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.send('PUT', path, body);
  }

  delete<T = any>(path: string): Promise<Reply<T>> {
    return this.send('DELETE', path);
  }

  async send<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      headers: response.headers,
      body: (type.includes('json') && text ? JSON.parse(text) : text) as T,
    };
  }

  /** Creates a tenant with the admin key and answers an Api authenticated as it. */
  async newTenant(adminKey: string, name = 'acme'): Promise<Api & { tenantId: string }> {
    const created = await this.as(adminKey).post('/v1/tenants', { name });
    if (created.status !== 201)
      throw new Error(`tenant: ${created.status} ${JSON.stringify(created.body)}`);
    return Object.assign(this.as(created.body.apiKey), {
      tenantId: created.body.tenant.id as string,
    });
  }

  /**
   * Polls a run until it ends (or `until` holds) and answers it. A 429 is waited out as its
   * Retry-After says, as any client should: reading many ended runs at once can pass the
   * tenant's requestsPerSecond on a fast host.
   */
  async waitForRun(
    runId: string,
    until: (run: any) => boolean = isEnded,
    timeoutMs = 20_000,
  ): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.get(`/v1/runs/${runId}`);
      if (run.status === 429 && Date.now() < deadline) {
        const seconds = Number(run.headers.get('retry-after') ?? 1);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
        continue;
      }
      if (run.status !== 200) throw new Error(`GET run: ${run.status} ${JSON.stringify(run.body)}`);
      if (until(run.body)) return run.body;
      if (Date.now() > deadline) throw new Error(`run ${runId} still ${JSON.stringify(run.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export const isEnded = (run: { status: string }): boolean =>
  ['succeeded', 'failed', 'cancelled'].includes(run.status);

/** Polls `condition` until it holds; fails the test after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
