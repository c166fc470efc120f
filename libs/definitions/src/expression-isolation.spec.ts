import { createExpressionMeter } from './expression-budget';
import {
  deserializeExpressionError,
  ExpressionError,
  serializeExpressionError,
} from './expression-error';
import { compileTemplate, evaluateTemplate, type ExpressionContext } from './expressions';

const context: ExpressionContext = {
  input: { n: 7, s: 'hello', evil: `${'a'.repeat(27)}!` },
  steps: { prepare: { status: 'succeeded', output: { ok: true } } },
  run: { id: 'run-1', workflowId: 'wf-1', workflowVersion: 1, startedAt: '2026-01-01T00:00:00Z' },
};

const evaluate = (value: unknown, budget?: Parameters<typeof evaluateTemplate>[2]) =>
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

/** Runs `work` while a timer ticks on this thread; the longest gap shows whether it blocked. */
async function withTicks<T>(work: () => Promise<T>): Promise<{ result: T; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    return { result, maxGapMs };
  } finally {
    clearInterval(ticker);
  }
}

// Start the worker threads before anything is timed.
beforeAll(() => evaluate("{{ $uppercase('warm') }}"));

describe('inline-safe templates', () => {
  it.each([
    '{{ input.n }}',
    '{{ steps.prepare.output }}',
    "{{ input.n > 3 ? 'big' : 'small' }}",
    "{{ {'a': [input.n, input.s & '!'], 'b': steps.*.status[0]} }}",
    '{{ ($x := input.n; $x * 2) }}',
    '{{ input.list[price > 3].name }}',
  ])('%s is evaluated on the calling thread', (source) => {
    expect(compileTemplate(source).isolated).toBeUndefined();
  });

  it.each([
    '{{ $uppercase(input.s) }}',
    '{{ input.s ~> $uppercase }}',
    '{{ [1..3] }}',
    '{{ function($x) { $x } }}',
    '{{ $contains(input.s, /l+/) }}',
    '{{ input.list^(price) }}',
    '{{ $pad(?, 3) }}',
  ])('%s is evaluated in a worker thread', (source) => {
    expect(compileTemplate(source).isolated?.source).toBe(source.slice(2, -2));
  });

  it('sends a whole template to the worker when one expression of it needs one', async () => {
    const template = compileTemplate({ a: '{{ input.n }}', b: 'x {{ $uppercase(input.s) }}' });
    expect(template.isolated?.source).toBe(' $uppercase(input.s) ');
    expect(await evaluateTemplate(template, context)).toEqual({ a: 7, b: 'x HELLO' });
  });
});

describe('evaluation in a worker thread', () => {
  it('stops a catastrophic regex and a huge $pad without blocking the event loop', async () => {
    const { result, maxGapMs } = await withTicks(async () => {
      const started = performance.now();
      const regex = await evaluate('{{ $contains(input.evil, /(a+)+$/) }}');
      const pad = await failure(evaluate("{{ $pad('', 50000000) }}"));
      return { regex, pad, ms: performance.now() - started };
    });
    // RE2 matches in linear time: the regex simply does not match.
    expect(result.regex).toBe(false);
    expect(result.pad.code).toBe('size-budget');
    expect(result.ms).toBeLessThan(300);
    expect(maxGapMs).toBeLessThan(100);
  });

  it('terminates a worker stuck in one long built-in call, and recovers', async () => {
    // $distinct compares every pair in one native call: it would run for minutes, and the
    // worker's own budget check never gets a turn, so only terminating it can stop it.
    const stuck = '{{ $count($distinct([1..100000])) }}';
    const { result, maxGapMs } = await withTicks(async () => {
      const started = performance.now();
      const error = await failure(evaluate(stuck, { timeMs: 100 }));
      return { error, ms: performance.now() - started };
    });
    expect(result.error.code).toBe('time-budget');
    expect(result.error.message).toContain('time budget of 100 ms');
    expect(result.ms).toBeLessThan(300);
    expect(maxGapMs).toBeLessThan(100);
    expect(await evaluate('{{ $uppercase(input.s) }}')).toBe('HELLO');
  });

  it('reports a worker that runs out of memory as a size-budget error, and recovers', async () => {
    const hog =
      "{{ ($s := $pad('', 1000000, 'x'); $count([1..300].$uppercase($s & $string($)))) }}";
    const error = await failure(evaluate(hog, { timeMs: 10_000 }));
    expect(error.code).toBe('size-budget');
    expect(error.message).toContain('ran out of memory');
    expect(await evaluate('{{ $uppercase(input.s) }}')).toBe('HELLO');
  });

  it('carries expression errors back whole', async () => {
    const error = await failure(evaluate('{{ $number("x") }}'));
    expect(error).toMatchObject({ code: 'runtime', expression: ' $number("x") ' });
    expect(error.jsonataCode).toBe('D3030');
    const copy = deserializeExpressionError(serializeExpressionError(error));
    expect(copy).toBeInstanceOf(ExpressionError);
    expect(copy).toMatchObject({
      code: error.code,
      expression: error.expression,
      message: error.message,
    });
  });

  it('runs many evaluations at once through the small pool', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => evaluate(`{{ $string(${i}) }}`, { timeMs: 5000 })),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });
});

describe('string built-ins', () => {
  it('refuse to build a string over the result budget before allocating it', async () => {
    expect((await failure(evaluate("{{ $pad('x', -2000000, '-') }}"))).code).toBe('size-budget');
    expect(
      (await failure(evaluate("{{ ($s := $pad('', 400000); $join([$s, $s, $s], ',')) }}"))).code,
    ).toBe('size-budget');
    expect(
      (await failure(evaluate("{{ $replace($pad('', 100000, 'a'), 'a', $pad('', 20, 'b')) }}")))
        .code,
    ).toBe('size-budget');
  });

  it('behave as JSONata’s within the budget', async () => {
    expect(await evaluate("{{ $pad('ab', -5, '#') }}")).toBe('###ab');
    expect(await evaluate("{{ $join(['a', 'b'], '-') }}")).toBe('a-b');
    expect(await evaluate("{{ $replace('a.b.c', '.', '::', 1) }}")).toBe('a::b.c');
    expect(await evaluate("{{ 'abc' ~> $pad(5) }}")).toBe('abc  ');
  });
});

describe('an expression meter', () => {
  it('limits an evaluation to what is left of it, and charges the time used', async () => {
    const meter = createExpressionMeter({ transitionMs: 50 });
    const loop = '{{ ($f := function($n) { $f($n + 1) }; $f(0)) }}';
    const error = await failure(evaluate(loop, { meter }));
    expect(error.code).toBe('time-budget');
    expect(error.message).toContain("the transition's expression time budget of 50 ms");
    expect(meter.reading().ms).toBeLessThanOrEqual(0);
    const spent = await failure(evaluate('{{ input.n }}', { meter }));
    expect(spent.message).toContain("exceeded the transition's expression time budget");
  });

  it("names the run's budget when it is the tighter one", async () => {
    const meter = createExpressionMeter({ transitionMs: 1000, runMsLeft: 0 });
    const error = await failure(evaluate('{{ input.n }}', { meter }));
    expect(error.message).toContain("the run's expression time budget");
    expect(
      await evaluate('{{ input.n }}', { meter: createExpressionMeter({ transitionMs: 200 }) }),
    ).toBe(7);
  });
});
