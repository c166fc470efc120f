import { DEFINITION_MAX_BYTES, MAX_STEPS } from './definition.schema';
import { validateDefinition } from './validate';

/** SPEC §2's example, with its `email.send` step swapped for an HTTP call. */
function specExample(): Record<string, unknown> {
  return {
    name: 'enrich-signup',
    description: 'optional',
    inputSchema: { type: 'object', required: ['email'] },
    triggers: [
      { type: 'webhook', path: 'signup', secret: 'hmac-credential-name' },
      { type: 'schedule', cron: '*/5 * * * *', timezone: 'UTC', input: {} },
      {
        type: 'event',
        credential: 'crm-kafka',
        topic: 'crm.contacts',
        filter: "{{ event.value.kind = 'signup' }}",
      },
    ],
    steps: [
      {
        id: 'profile',
        type: 'http.request',
        with: {
          method: 'GET',
          url: 'https://api.example.com/users/{{ input.email }}',
          credential: 'example-api',
        },
        retry: { maxAttempts: 3, backoff: 'exponential', initialDelayMs: 200, maxDelayMs: 10000 },
        timeoutMs: 10000,
      },
      {
        id: 'summary',
        type: 'ai.chat',
        needs: ['profile'],
        with: {
          credential: 'llm',
          model: 'gpt-4o-mini',
          prompt: 'Summarise: {{ $string(steps.profile.output.body) }}',
        },
      },
      {
        id: 'vip',
        type: 'transform',
        needs: ['profile'],
        if: "{{ steps.profile.output.body.plan = 'enterprise' }}",
        with: { value: { email: '{{ input.email }}', tier: 'vip' } },
      },
      {
        id: 'notify',
        type: 'http.request',
        needs: ['summary', 'vip'],
        needsPolicy: 'allDone',
        onError: 'continue',
        with: {
          method: 'POST',
          url: 'https://hooks.example.com/welcome',
          credential: ['hooks-primary', 'hooks-fallback'],
          body: { to: '{{ input.email }}', text: '{{ steps.summary.output.text }}' },
        },
      },
    ],
    output: "{{ { 'summary': steps.summary.output.text } }}",
  };
}

function problemsOf(input: unknown) {
  const result = validateDefinition(input);
  if (result.ok) throw new Error('expected the definition to be rejected');
  return result.problems;
}

const step = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'transform',
  with: { value: id },
  ...extra,
});
const workflow = (steps: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'w',
  steps,
  ...extra,
});

describe('validateDefinition', () => {
  it('accepts the SPEC example and applies defaults', () => {
    const result = validateDefinition(specExample());
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const [profile, summary, , notify] = result.definition.steps;
    expect(profile?.retry).toEqual({
      maxAttempts: 3,
      backoff: 'exponential',
      initialDelayMs: 200,
      maxDelayMs: 10000,
    });
    expect(summary).toMatchObject({
      needs: ['profile'],
      needsPolicy: 'allSucceeded',
      onError: 'fail',
      timeoutMs: 30000,
      retry: { maxAttempts: 1, backoff: 'exponential', initialDelayMs: 200, maxDelayMs: 10000 },
    });
    expect(notify).toMatchObject({ needsPolicy: 'allDone', onError: 'continue' });
    // `with` is kept as written: it is evaluated and parsed at run time.
    expect(profile?.with).toEqual({
      method: 'GET',
      url: 'https://api.example.com/users/{{ input.email }}',
      credential: 'example-api',
    });
  });

  it('accepts a minimal definition', () => {
    const result = validateDefinition(
      workflow([{ id: 'a', type: 'fail', with: { message: 'no' } }]),
    );
    expect(result).toMatchObject({
      ok: true,
      definition: { triggers: [], steps: [{ needs: [] }] },
    });
  });

  it('reports every problem at once with exact JSON paths', () => {
    const problems = problemsOf({
      name: '',
      steps: [
        step('a'),
        { id: 'Bad-Id', type: 'transform', with: { value: 1 } },
        { id: 'c', type: 'http.request', needs: ['missing'], with: { method: 'FETCH' } },
        step('a'),
        {
          id: 'e',
          type: 'ai.extract',
          with: {
            credential: 'llm',
            model: 'm',
            prompt: 'p',
            schema: { properties: { a: { type: 'string', pattern: '(a)\\1' } } },
          },
        },
        { id: 'f', type: 'teleport' },
        step('g', { needs: ['g'], retry: { maxAttempts: 0 }, extra: true }),
      ],
      output: '{{ steps.a.output + }}',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '$.name', message: expect.stringContaining('>=1') },
        { path: '$.steps[1].id', message: expect.stringContaining('^[a-z][a-z0-9_]{0,63}$') },
        { path: '$.steps[2].needs[0]', message: 'needs unknown step "missing"' },
        { path: '$.steps[2].with.method', message: expect.stringContaining('"GET"') },
        { path: '$.steps[2].with.url', message: 'required' },
        { path: '$.steps[3].id', message: 'duplicate step id "a" (first used by $.steps[0])' },
        {
          path: '$.steps[4].with.schema',
          message: expect.stringContaining('pattern "(a)\\\\1" is not supported'),
        },
        {
          path: '$.steps[5].type',
          message:
            'unknown step type "teleport"; available: transform, wait, fail, approval, workflow.run, foreach, http.request, kafka.publish, rabbitmq.publish, postgres.query, email.send, ai.chat, ai.extract',
        },
        { path: '$.steps[6].needs[0]', message: 'step "g" needs itself' },
        { path: '$.steps[6].retry.maxAttempts', message: expect.stringContaining('>=1') },
        { path: '$.steps[6].extra', message: 'unknown field' },
        {
          path: '$.output',
          message: expect.stringContaining('invalid expression {{ steps.a.output + }}'),
        },
      ]),
    );
    expect(problems).toHaveLength(12);
  });

  it('names a cycle and reports it on the needs of its earliest step', () => {
    const problems = problemsOf(
      workflow([
        step('start'),
        step('a', { needs: ['start', 'c'] }),
        step('b', { needs: ['a'] }),
        step('c', { needs: ['b'] }),
        step('after', { needs: ['c'] }),
      ]),
    );
    expect(problems).toEqual([{ path: '$.steps[1].needs', message: 'cycle: a → c → b → a' }]);
  });

  it('reports separate cycles separately', () => {
    const problems = problemsOf(
      workflow([
        step('a', { needs: ['b'] }),
        step('b', { needs: ['a'] }),
        step('x', { needs: ['y'] }),
        step('y', { needs: ['x'] }),
      ]),
    );
    expect(problems).toEqual([
      { path: '$.steps[0].needs', message: 'cycle: a → b → a' },
      { path: '$.steps[2].needs', message: 'cycle: x → y → x' },
    ]);
  });

  it("checks each step's with against its type, accepting expressions in any field", () => {
    const ok = validateDefinition(
      workflow([
        step('a'),
        {
          id: 'call',
          type: 'http.request',
          with: {
            method: '{{ input.method }}',
            url: 'https://x.test/{{ input.id }}',
            headers: '{{ input.headers }}',
            query: { page: 2, q: '{{ input.q }}', all: true },
            acceptStatus: [200, '{{ input.status }}'],
            timeoutMs: '{{ input.timeout }}',
          },
        },
        { id: 'pause', type: 'wait', with: { durationMs: '{{ input.delay }}' } },
        { id: 'until', type: 'wait', with: { until: '2030-01-01T00:00:00Z' } },
        {
          id: 'chat',
          type: 'ai.chat',
          with: {
            credential: ['a', 'b'],
            model: 'm',
            messages: [{ role: 'user', content: 'hi {{ input.name }}' }, '{{ input.extra }}'],
            temperature: '{{ input.t }}',
          },
        },
      ]),
    );
    if (!ok.ok) throw new Error(JSON.stringify(ok.problems));

    const problems = problemsOf(
      workflow([
        {
          id: 'call',
          type: 'http.request',
          with: {
            url: 'https://x.test',
            headers: { 'a b': 1 },
            acceptStatus: [200, 'x{{ input.s }}'],
            credential: 5,
          },
        },
        { id: 'pause', type: 'wait', with: { durationMs: 5, until: '2030-01-01T00:00:00Z' } },
        { id: 'later', type: 'wait', with: { until: 'tomorrow' } },
        { id: 'chat', type: 'ai.chat', with: { credential: 'c', model: 'm', temperature: 3 } },
        { id: 'nothing', type: 'transform' },
      ]),
    );
    expect(problems).toEqual([
      { path: '$.steps[0].with.headers["a b"]', message: 'is not a valid HTTP header name' },
      {
        path: '$.steps[0].with.credential',
        message: 'expected a credential name or a list of 1 to 10 credential names',
      },
      // Text around an expression makes a string, which a number field refuses.
      {
        path: '$.steps[0].with.acceptStatus[1]',
        message: expect.stringContaining('expected number'),
      },
      { path: '$.steps[1].with', message: 'exactly one of durationMs or until is required' },
      { path: '$.steps[2].with.until', message: expect.stringContaining('datetime') },
      { path: '$.steps[3].with.temperature', message: expect.stringContaining('<=2') },
      { path: '$.steps[3].with', message: 'exactly one of prompt or messages is required' },
    ]);
  });

  it('requires exactly one of prompt or messages for ai.chat', () => {
    const chat = (extra: Record<string, unknown>) =>
      workflow([{ id: 'c', type: 'ai.chat', with: { credential: 'c', model: 'm', ...extra } }]);
    expect(problemsOf(chat({}))).toEqual([
      { path: '$.steps[0].with', message: 'exactly one of prompt or messages is required' },
    ]);
    expect(problemsOf(chat({ prompt: 'a', messages: '{{ input.m }}' }))).toHaveLength(1);
    expect(validateDefinition(chat({ prompt: '{{ input.p }}' })).ok).toBe(true);
  });

  describe('concurrency', () => {
    const withConcurrency = (concurrency: unknown) => workflow([step('a')], { concurrency });

    it('takes a limit from 1 to 1000 and an optional key template', () => {
      const checked = validateDefinition(withConcurrency({ limit: 1, key: '{{ input.email }}' }));
      expect(checked.ok && checked.definition.concurrency).toEqual({
        limit: 1,
        key: '{{ input.email }}',
      });
      expect(validateDefinition(withConcurrency({ limit: 1000 })).ok).toBe(true);
    });

    it('refuses a limit out of bounds or not an integer, at $.concurrency.limit', () => {
      for (const limit of [0, 1001, 1.5, '2']) {
        expect(problemsOf(withConcurrency({ limit }))).toEqual([
          { path: '$.concurrency.limit', message: expect.any(String) },
        ]);
      }
      expect(problemsOf(withConcurrency({ key: '{{ input.a }}' }))).toEqual([
        { path: '$.concurrency.limit', message: 'required' },
      ]);
    });

    it('reports a bad key expression and unknown fields at their paths', () => {
      const problems = problemsOf(withConcurrency({ limit: 2, key: '{{ input.a + }}' }));
      expect(problems).toEqual([
        {
          path: '$.concurrency.key',
          message: expect.stringContaining('invalid expression {{ input.a + }}'),
        },
      ]);
      expect(problemsOf(withConcurrency({ limit: 2, per: 'x' }))).toEqual([
        { path: '$.concurrency.per', message: 'unknown field' },
      ]);
    });
  });

  it('checks the syntax of every expression in with, if and output', () => {
    const problems = problemsOf(
      workflow(
        [
          step('a', {
            if: '{{ input.x = }}',
            with: {
              value: { deep: ['ok {{ input.a }}', 'bad {{ $uppercase( }}'], open: '{{ input' },
            },
          }),
          step('b', { if: 'input.x = 1' }),
        ],
        { output: 'text {{ 1 + }}' },
      ),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      '$.steps[1].if',
      '$.steps[0].with.value.deep[1]',
      '$.steps[0].with.value.open',
      '$.steps[0].if',
      '$.output',
    ]);
    expect(problems[0]?.message).toBe('if must be a single {{ … }} expression');
    expect(problems[1]?.message).toMatch(
      /^invalid expression \{\{ \$uppercase\( \}\}: .+\(position \d+\)$/,
    );
    expect(problems[2]?.message).toBe(
      'invalid expression: "{{" at position 0 has no matching "}}"',
    );
  });

  it('checks triggers', () => {
    const problems = problemsOf(
      workflow([step('a')], {
        triggers: [
          { type: 'webhook', path: 'in', auth: 'none' },
          { type: 'webhook', path: 'in', secret: 'hmac' },
          { type: 'webhook', path: 'a/b', auth: 'none' },
          { type: 'schedule', cron: 'every minute', timezone: 'Mars/Olympus' },
          { type: 'event', credential: 'crm-kafka', topic: 'crm', filter: 'kind = 1' },
          { type: 'email' },
        ],
      }),
    );
    expect(problems).toEqual([
      { path: '$.triggers[2].path', message: expect.stringContaining('one URL segment') },
      {
        path: '$.triggers[3].timezone',
        message: expect.stringContaining('unknown IANA time zone'),
      },
      { path: '$.triggers[3].cron', message: expect.stringContaining('5 fields') },
      { path: '$.triggers[4].filter', message: 'filter must be a single {{ … }} expression' },
      {
        path: '$.triggers[5].type',
        message: 'trigger type must be webhook, schedule, event or run',
      },
      { path: '$.triggers[1].path', message: 'duplicate webhook path "in"' },
    ]);
  });

  it('makes a webhook say how it is authenticated: a secret, or auth "none"', () => {
    const problems = problemsOf(
      workflow([step('a')], {
        triggers: [
          { type: 'webhook', path: 'open' },
          { type: 'webhook', path: 'both', secret: 'hmac', auth: 'none' },
          { type: 'webhook', path: 'signed', secret: 'hmac' },
          { type: 'webhook', path: 'public', auth: 'none' },
        ],
      }),
    );
    expect(problems).toEqual([
      { path: '$.triggers[0].secret', message: expect.stringContaining('auth: "none"') },
      { path: '$.triggers[1].secret', message: expect.stringContaining('not both') },
    ]);
  });

  it('rejects a definition over 1 MiB with one problem at $', () => {
    const big = workflow([step('a', { with: { value: 'x'.repeat(DEFINITION_MAX_BYTES) } })]);
    expect(problemsOf(big)).toEqual([
      {
        path: '$',
        message: expect.stringMatching(/^definition is \d+ bytes as JSON; at most 1048576/),
      },
    ]);
  });

  it(`rejects more than ${MAX_STEPS} steps`, () => {
    const steps = Array.from({ length: MAX_STEPS + 1 }, (_, index) => step(`s${index}`));
    expect(problemsOf(workflow(steps))).toEqual([
      { path: '$.steps', message: `a workflow has at most ${MAX_STEPS} steps` },
    ]);
    expect(validateDefinition(workflow(steps.slice(0, MAX_STEPS))).ok).toBe(true);
  });

  it('rejects what is not an object, and values that are not JSON', () => {
    expect(problemsOf('nope')).toEqual([
      { path: '$', message: expect.stringContaining('expected object') },
    ]);
    expect(problemsOf({ name: 'w', steps: [], extra: 1 })).toEqual([
      { path: '$.steps', message: 'a workflow needs at least one step' },
      { path: '$.extra', message: 'unknown field' },
    ]);
    expect(problemsOf({ name: 'w', steps: [step('a', { with: { value: 10n } })] })).toEqual([
      { path: '$', message: 'a definition must be plain JSON' },
    ]);
  });
});
