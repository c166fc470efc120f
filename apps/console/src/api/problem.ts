import type { FieldProblem } from '@weft/contracts';

/** An RFC 9457 problem document, as the gateway answers every error. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldProblem[];
}

/**
 * A failed API call. The message is what a person should read: the problem's `detail` (or its
 * title), followed by the path of each invalid field.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.problem = problem;
  }

  /** `errors[]` as "path: message" lines (empty for most problems). */
  get fieldErrors(): string[] {
    return (this.problem.errors ?? []).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
  }
}

const isProblem = (body: unknown): body is Problem =>
  typeof body === 'object' &&
  body !== null &&
  typeof (body as Problem).title === 'string' &&
  typeof (body as Problem).status === 'number';

/** The error of a response that is not ok: its problem document, or one made from its status. */
export async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isProblem(body)) return new ApiError(body);
  return new ApiError({
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`,
  });
}
