import { type ExpressionBudget } from './expression-budget';
import { ExpressionError } from './expression-error';
import {
  compileTemplate,
  evaluateCondition,
  evaluateTemplate,
  MAX_SEQUENCE_LENGTH,
  toBoolean,
  type ExpressionContext,
} from './expressions';

const context: ExpressionContext = {
  input: { email: 'ada@example.com', count: 3, tags: ['a', 'b'], nested: { ok: true } },
  steps: {
    profile: { status: 'succeeded', output: { body: { plan: 'enterprise', seats: 12 } } },
    skipped: { status: 'skipped' },
  },
  run: {
    id: 'run-1',
    workflowId: 'wf-1',
    workflowVersion: 2,
    startedAt: '2026-01-01T00:00:00.000Z',
  },
  item: { sku: 'x' },
  index: 4,
};

const evaluate = (value: unknown, budget?: Partial<ExpressionBudget>) =>
  evaluateTemplate(compileTemplate(value), context, budget);

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error('expected an ExpressionError');
}

describe('evaluateTemplate', () => {
  it('yields the raw value of a string that is exactly one expression', async () => {
    expect(await evaluate('{{ input.count }}')).toBe(3);
    expect(await evaluate('{{ input.nested }}')).toEqual({ ok: true });
    expect(await evaluate('{{ input.tags }}')).toEqual(['a', 'b']);
    expect(await evaluate('{{ steps.profile.output.body.seats > 10 }}')).toBe(true);
    expect(await evaluate('{{ input.missing }}')).toBeUndefined();
    expect(await evaluate("{{ {'a': {'b': [1, 2]}} }}")).toEqual({ a: { b: [1, 2] } });
  });

  it('reads every part of the context', async () => {
    expect(
      await evaluate(
        '{{ [input.email, steps.profile.status, steps.skipped.status, run.id, run.workflowVersion, item.sku, index] }}',
      ),
    ).toEqual(['ada@example.com', 'succeeded', 'skipped', 'run-1', 2, 'x', 4]);
  });

  it('returns plain JSON: sequences become arrays, functions vanish', async () => {
    const steps = await evaluate('{{ $.steps.*.status }}');
    expect(steps).toEqual(['succeeded', 'skipped']);
    expect(Object.keys(steps as object)).toEqual(['0', '1']);
    expect(await evaluate("{{ {'f': function($x) { $x }, 'n': 1} }}")).toEqual({ n: 1 });
    expect(await evaluate('{{ $uppercase }}')).toBeUndefined();
  });

  it('interpolates results as text when an expression is mixed with text', async () => {
    expect(await evaluate('to {{ input.email }} ({{ input.count }} times)')).toBe(
      'to ada@example.com (3 times)',
    );
    expect(await evaluate('tags={{ input.tags }} nested={{ input.nested }}')).toBe(
      'tags=["a","b"] nested={"ok":true}',
    );
    expect(await evaluate('[{{ input.missing }}] [{{ null }}] [{{ false }}]')).toBe(
      '[] [null] [false]',
    );
    expect(await evaluate(' {{ input.count }}')).toBe(' 3');
  });

  it('evaluates objects and arrays recursively and returns other values as they are', async () => {
    expect(
      await evaluate({
        to: '{{ input.email }}',
        list: ['{{ input.count * 2 }}', 'plain', 7, null, { deep: '{{ index }}' }],
        flag: false,
        gone: '{{ input.missing }}',
      }),
    ).toStrictEqual({
      to: 'ada@example.com',
      list: [6, 'plain', 7, null, { deep: 4 }],
      flag: false,
      gone: undefined,
    });
    const literal = { a: [1, 'two', { three: 3 }] };
    expect(await evaluate(literal)).toBe(literal);
    expect(await evaluate(42)).toBe(42);
    expect(await evaluate('no expression')).toBe('no expression');
    expect(await evaluate(undefined)).toBeUndefined();
  });

  it('finds the end of an expression past nested braces and quoted braces', async () => {
    expect(await evaluate("{{ {'k': {'v': '}}'}} }}")).toEqual({ k: { v: '}}' } });
    expect(await evaluate('a{{ \'{{\' & "}}" }}b')).toBe('a{{}}b');
    expect(await evaluate('{{ /* } */ 1 }}')).toBe(1);
  });

  it('compiles each expression text once and reuses it', () => {
    const first = compileTemplate('{{ input.email }}').root;
    const second = compileTemplate({ nested: ['{{ input.email }}'] }).root;
    expect(first.kind).toBe('expression');
    expect(second.kind).toBe('object');
    if (first.kind !== 'expression' || second.kind !== 'object') return;
    const [[, list] = []] = second.entries;
    const item = list?.kind === 'array' ? list.items[0] : undefined;
    expect(item?.kind === 'expression' && item.expression).toBe(first.expression);
  });

  it('evaluates a compiled template many times with different contexts', async () => {
    const template = compileTemplate('{{ item.sku }}');
    const results = await Promise.all(
      ['a', 'b', 'c'].map((sku) => evaluateTemplate(template, { ...context, item: { sku } })),
    );
    expect(results).toEqual(['a', 'b', 'c']);
  });

  it('reports a syntax error with the expression and its position', () => {
    let error: unknown;
    try {
      compileTemplate({ a: 'x {{ input.count + }}' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error).toMatchObject({
      code: 'syntax',
      expression: ' input.count + ',
      position: expect.any(Number),
      jsonataCode: 'S0207',
      message: expect.stringContaining('invalid expression {{ input.count + }}'),
    });
    expect(() => compileTemplate('{{ input.count')).toThrow(
      'invalid expression: "{{" at position 0 has no matching "}}"',
    );
  });

  it('wraps a JSONata runtime error with the expression and its position', async () => {
    const error = await failure(evaluate('{{ $notAFunction(1) }}'));
    expect(error).toMatchObject({
      code: 'runtime',
      expression: ' $notAFunction(1) ',
      jsonataCode: 'T1006',
      position: expect.any(Number),
    });
    expect(error.message).toMatch(
      /^expression \{\{ \$notAFunction\(1\) \}\} failed: .+ \(position \d+\)$/,
    );
    expect((await failure(evaluate("{{ 1 + 'a' }}"))).jsonataCode).toBe('T2002');
  });
});

describe('expression budgets', () => {
  // These expressions call functions, so they run in a worker thread; start it beforehand so
  // that the timings below do not include its start-up.
  beforeAll(() => evaluate("{{ $uppercase('warm') }}"));

  const startedAt = () => {
    const start = Date.now();
    return () => Date.now() - start;
  };

  it('stops a long loop at the time budget', async () => {
    const elapsed = startedAt();
    const error = await failure(evaluate('{{ $sum([1..1000000].($ * 2)) }}'));
    expect(error.code).toBe('time-budget');
    expect(error.message).toContain('expression exceeded its time budget of 100 ms');
    expect(elapsed()).toBeLessThan(1000);
  });

  it('refuses huge ranges before building them', async () => {
    const elapsed = startedAt();
    const error = await failure(evaluate('{{ $sum([1..10000000]) }}'));
    expect(error.code).toBe('size-budget');
    expect(error.message).toContain(`size budget of ${MAX_SEQUENCE_LENGTH} items`);
    // Refused, not built and then measured: well under the time budget's own stop. (A bound of
    // 100 ms failed on a busy host; the error code above is the real evidence.)
    expect(elapsed()).toBeLessThan(1000);
  });

  it('stops endless tail recursion at the time budget', async () => {
    const error = await failure(evaluate('{{ ($f := function($n) { $f($n + 1) }; $f(0)) }}'));
    expect(error.code).toBe('time-budget');
  });

  it('stops deep recursion at the depth budget, quickly', async () => {
    const elapsed = startedAt();
    const error = await failure(
      evaluate('{{ ($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000)) }}'),
    );
    expect(error.code).toBe('depth-budget');
    expect(error.message).toContain('depth budget of 1000');
    expect(elapsed()).toBeLessThan(100);
    expect(
      await evaluate('{{ ($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100)) }}'),
    ).toBe(100);
  });

  it('still stops a budget violation raised inside $eval', async () => {
    const error = await failure(
      evaluate('{{ $eval("($f := function($n) { $f($n + 1) }; $f(0))") }}'),
    );
    expect(error.code).toBe('time-budget');
  });

  it('limits the total size of results of one evaluation', async () => {
    const half = "{{ $pad('', 600000, 'x') }}";
    expect(((await evaluate(half)) as string).length).toBe(600000);
    const error = await failure(evaluate({ a: half, b: half }));
    expect(error.code).toBe('size-budget');
    expect(error.message).toContain('size budget of 1048576 bytes');
    expect((await failure(evaluate('{{ input }}', { maxResultBytes: 10 }))).code).toBe(
      'size-budget',
    );
  });

  it('keeps the default for a budget field given as undefined', async () => {
    const error = await failure(
      evaluate('{{ ($f := function($n) { $f($n + 1) }; $f(0)) }}', { timeMs: undefined }),
    );
    expect(error.message).toContain('time budget of 100 ms');
  });

  it('takes budgets per evaluation, even when evaluations share an expression', async () => {
    const slow = compileTemplate('{{ $count([1..1000000].($string($))) }}');
    const [tight, loose] = await Promise.allSettled([
      evaluateTemplate(slow, context, { timeMs: 10 }),
      evaluateTemplate(compileTemplate('{{ input.count }}'), context, { timeMs: 10 }),
    ]);
    expect(tight.status === 'rejected' && (tight.reason as ExpressionError).message).toContain(
      'time budget of 10 ms',
    );
    expect(loose).toEqual({ status: 'fulfilled', value: 3 });
  });
});

describe('evaluateCondition', () => {
  it.each([
    ['{{ true }}', true],
    ['{{ false }}', false],
    ['{{ input.missing }}', false],
    ["{{ steps.profile.output.body.plan = 'enterprise' }}", true],
    ["{{ '' }}", false],
    ['{{ input.email }}', true],
    ['{{ 0 }}', false],
    ['{{ input.count }}', true],
    ['{{ [] }}', false],
    ['{{ [0, 1] }}', true],
    ['{{ {} }}', false],
    ['{{ input.nested }}', true],
    ['{{ null }}', false],
  ])('%s is %s', async (condition, expected) => {
    expect(await evaluateCondition(condition, context)).toBe(expected);
    expect(await evaluateCondition(compileTemplate(condition), context)).toBe(expected);
  });
});

describe('toBoolean', () => {
  it("follows JSONata's $boolean", () => {
    expect([[false], [0, ''], [[]], [[0, 'x']]].map(toBoolean)).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect(toBoolean([[1]])).toBe(true);
    expect(toBoolean(undefined)).toBe(false);
  });
});
