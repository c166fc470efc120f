import { z } from 'zod';

/**
 * The `with` schemas below describe evaluated values: the engine parses a step's `with` with
 * them after its expressions ran. At save time `validateDefinition` checks the same schemas
 * with every field allowed to be a single `{{ … }}` expression (see `templated`).
 */

/** Where a step runs: inside the workflow engine, the integration service or the AI service. */
export type StepRunner = 'engine' | 'integration' | 'ai';

const MAX_WAIT_MS = 31 * 24 * 60 * 60 * 1000;

/** A credential by name, or a list tried in order (fallback providers). */
export const CredentialRef = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'expected a credential name or a non-empty list of credential names',
});
export type CredentialRef = z.infer<typeof CredentialRef>;

export const TransformWith = z.strictObject({ value: z.unknown() });
export type TransformWith = z.infer<typeof TransformWith>;

export const WaitWith = z
  .strictObject({
    durationMs: z.int().min(0).max(MAX_WAIT_MS).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((wait) => (wait.durationMs === undefined) !== (wait.until === undefined), {
    message: 'exactly one of durationMs or until is required',
  });
export type WaitWith = z.infer<typeof WaitWith>;

export const FailWith = z.strictObject({ message: z.string().min(1) });
export type FailWith = z.infer<typeof FailWith>;

export const HttpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
export type HttpMethod = z.infer<typeof HttpMethod>;

export const HttpRequestWith = z.strictObject({
  method: HttpMethod.default('GET'),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.unknown().optional(),
  timeoutMs: z.int().min(1).max(3_600_000).optional(),
  credential: CredentialRef.optional(),
  acceptStatus: z.array(z.int().min(100).max(599)).optional(),
});
export type HttpRequestWith = z.infer<typeof HttpRequestWith>;

export const ChatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const AiChatWith = z
  .strictObject({
    credential: CredentialRef,
    model: z.string().min(1),
    prompt: z.string().optional(),
    messages: z.array(ChatMessage).min(1).optional(),
    system: z.string().optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.int().min(1).optional(),
  })
  .refine((chat) => (chat.prompt === undefined) !== (chat.messages === undefined), {
    message: 'exactly one of prompt or messages is required',
  });
export type AiChatWith = z.infer<typeof AiChatWith>;

/** The step types this version runs, by name. Adding a type is adding an entry here. */
export const STEP_TYPES = {
  transform: { type: 'transform', runsOn: 'engine', with: TransformWith },
  wait: { type: 'wait', runsOn: 'engine', with: WaitWith },
  fail: { type: 'fail', runsOn: 'engine', with: FailWith },
  'http.request': { type: 'http.request', runsOn: 'integration', with: HttpRequestWith },
  'ai.chat': { type: 'ai.chat', runsOn: 'ai', with: AiChatWith },
} as const satisfies Record<string, { type: string; runsOn: StepRunner; with: z.ZodType }>;

export type StepTypeName = keyof typeof STEP_TYPES;
export type StepTypeSpec = (typeof STEP_TYPES)[StepTypeName];

export const STEP_TYPE_NAMES = Object.freeze(Object.keys(STEP_TYPES)) as readonly StepTypeName[];

/** Types of the SPEC's catalog that a later version will run; saving them fails for now. */
export const UPCOMING_STEP_TYPES = Object.freeze([
  'approval',
  'foreach',
  'workflow.run',
  'email.send',
  'kafka.publish',
  'rabbitmq.publish',
  'postgres.query',
  'ai.extract',
]);

export function isStepTypeName(type: unknown): type is StepTypeName {
  return typeof type === 'string' && Object.hasOwn(STEP_TYPES, type);
}

/** Why `type` is not a step type this version runs. */
export function stepTypeProblem(type: unknown): string {
  const available = `available: ${STEP_TYPE_NAMES.join(', ')}`;
  if (type === undefined) return `step type is required; ${available}`;
  if (typeof type !== 'string') return `step type must be a string; ${available}`;
  if (UPCOMING_STEP_TYPES.includes(type)) {
    return `step type "${type}" is not available yet; ${available}`;
  }
  return `unknown step type "${type}"; ${available}`;
}
