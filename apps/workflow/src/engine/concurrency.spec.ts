import { randomUUID } from 'node:crypto';
import { MAX_CONCURRENCY_KEY_LENGTH } from '@weft/definitions';
import { compileWorkflow } from './compiled-workflow';
import { concurrencyKeyOf, WHOLE_WORKFLOW_KEY } from './concurrency';
import type { RunState } from './run-state';

const NOW = new Date('2026-12-02T10:00:00.000Z');

/** The key a run with `input` gets from a workflow whose `concurrency` is `concurrency`. */
function keyOf(concurrency: Record<string, unknown>, input: unknown): Promise<string> {
  const workflow = compileWorkflow({
    name: 'keyed',
    concurrency,
    steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
  });
  const run: RunState = {
    id: randomUUID(),
    tenantId: randomUUID(),
    workflowId: randomUUID(),
    workflowVersion: 3,
    status: 'queued',
    trigger: { type: 'webhook', path: 'signup' },
    event: { source: 'hook' },
    input,
    output: null,
    error: null,
    createdAt: NOW,
    startedAt: null,
    finishedAt: null,
    lastEventSeq: 1,
    expressionMs: 0,
  };
  return concurrencyKeyOf(workflow, run, NOW);
}

describe('concurrencyKeyOf', () => {
  it('is the one key of the whole workflow when it has no key template', async () => {
    expect(await keyOf({ limit: 2 }, { email: 'a@x.test' })).toBe(WHOLE_WORKFLOW_KEY);
  });

  it('evaluates the template over the input, the event and the run', async () => {
    expect(await keyOf({ limit: 1, key: '{{ input.email }}' }, { email: 'a@x.test' })).toBe(
      'a@x.test',
    );
    expect(
      await keyOf(
        { limit: 1, key: '{{ run.trigger.path }}/{{ event.source }}/{{ input.n }}' },
        { n: 7 },
      ),
    ).toBe('signup/hook/7');
  });

  it('keys a value that is not a string by its JSON', async () => {
    expect(await keyOf({ limit: 1, key: '{{ input.n }}' }, { n: 42 })).toBe('42');
    expect(await keyOf({ limit: 1, key: '{{ input.who }}' }, { who: { id: 1 } })).toBe('{"id":1}');
  });

  it('keys a long value by its SHA-256, the same for the same value', async () => {
    const key = { limit: 1, key: '{{ input.k }}' };
    const long = 'x'.repeat(MAX_CONCURRENCY_KEY_LENGTH + 1);
    const hashed = await keyOf(key, { k: long });
    expect(hashed).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await keyOf(key, { k: long })).toBe(hashed);
    expect(await keyOf(key, { k: `${long}y` })).not.toBe(hashed);
    const longest = 'x'.repeat(MAX_CONCURRENCY_KEY_LENGTH);
    expect(await keyOf(key, { k: longest })).toBe(longest);
  });

  it('throws when the key fails to evaluate or yields nothing', async () => {
    await expect(keyOf({ limit: 1, key: '{{ input.email }}' }, {})).rejects.toThrow(
      'the key is undefined',
    );
    await expect(keyOf({ limit: 1, key: '{{ input.email }}' }, { email: null })).rejects.toThrow(
      'the key is null',
    );
    await expect(
      keyOf({ limit: 1, key: '{{ $number(input.email) }}' }, { email: 'x' }),
    ).rejects.toThrow();
  });
});
