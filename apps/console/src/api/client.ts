import { errorOf } from './problem';

export type Query = Record<string, string | number | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * The Weft API as the console calls it: same origin, the API key as a bearer token (never in a
 * URL), JSON in and out, and every error answer thrown as an ApiError carrying its problem.
 */
export class ApiClient {
  constructor(
    private readonly key: string,
    /** Called on a 401: the key was revoked or expired, so the session ends. */
    private readonly onUnauthorized: () => void = () => {},
  ) {}

  get<T>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  put<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  delete<T = void>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /** The headers of every call; the event streams send them too. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.key}`, accept: 'application/json', ...extra };
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const hasBody = options.body !== undefined;
    const response = await fetch(withQuery(path, options.query), {
      method,
      headers: this.headers(hasBody ? { 'content-type': 'application/json' } : {}),
      body: hasBody ? JSON.stringify(options.body) : null,
      signal: options.signal ?? null,
      // The key is the only credential: no cookies are sent or kept.
      credentials: 'omit',
      cache: 'no-store',
    });
    if (!response.ok) {
      if (response.status === 401) this.onUnauthorized();
      throw await errorOf(response);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** `path` with the defined values of `query` as its query string. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}
