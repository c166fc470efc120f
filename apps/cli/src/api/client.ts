import { setTimeout as sleep } from 'node:timers/promises';
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './openapi';

/** The Weft API, typed from schemas/openapi.json (openapi.d.ts is generated: npm run schemas). */
export type Api = Client<paths>;
export type Problem = components['schemas']['Problem'];
export type Workflow = components['schemas']['Workflow'];
export type WorkflowDefinition = components['schemas']['WorkflowDefinition'];
export type RunSummary = components['schemas']['RunSummary'];
export type Run = components['schemas']['Run'];
export type RunEvent = components['schemas']['RunEvent'];
export type RunStatus = RunSummary['status'];

export interface Settings {
  /** Where the gateway answers, e.g. http://127.0.0.1:3000 */
  url: string;
  /** A tenant's API key (wk_…). */
  apiKey: string;
}

/** Tries of a request the server answers 429 (a tenant rate limit, too many event streams). */
const RATE_LIMITED_TRIES = 4;
/** The longest Retry-After waited for; a longer one is answered as the 429 it is. */
const MAX_RETRY_AFTER_S = 10;

/**
 * fetch, waiting out a 429's Retry-After and sending the request again: a 429 was refused before
 * anything was done, so a POST is as safe to repeat as a GET (docs/reference/api.md, rate limits).
 */
async function fetchWaitingOutRateLimits(request: Request): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(request.clone());
    const retryAfter = Number(response.headers.get('retry-after'));
    if (
      response.status !== 429 ||
      attempt >= RATE_LIMITED_TRIES ||
      !Number.isFinite(retryAfter) ||
      retryAfter > MAX_RETRY_AFTER_S
    ) {
      return response;
    }
    await response.body?.cancel();
    await sleep(Math.max(retryAfter, 0.1) * 1000);
  }
}

export function apiClient({ url, apiKey }: Settings): Api {
  return createClient<paths>({
    baseUrl: url.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${apiKey}` },
    fetch: fetchWaitingOutRateLimits,
  });
}

/** An answer outside 2xx, with the problem+json the API sent (docs/api.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(
      problem
        ? `${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`
        : `the server answered HTTP ${status}`,
    );
    this.name = 'ApiError';
  }

  /** Each problem the API located, as `$.path: message`. */
  get issues(): { path: string; message: string }[] {
    return this.problem?.errors ?? [];
  }
}

const isProblem = (value: unknown): value is Problem =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Problem).title === 'string' &&
  typeof (value as Problem).status === 'number';

/** What openapi-fetch answers: the parsed body, or the parsed error, and the response. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The error of an answer outside 2xx, from the body openapi-fetch parsed. */
export const apiError = (response: Response, body: unknown): ApiError =>
  new ApiError(response.status, isProblem(body) ? body : undefined);

/** The answer's body, or an ApiError with its problem. */
export async function ok<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw apiError(response, error);
  return data as T;
}

/** Every item of a keyset-paged list, following `nextCursor` (limit 100, the API's maximum). */
export async function allPages<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const answer = await page(cursor);
    items.push(...answer.items);
    cursor = answer.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.includes(status);
