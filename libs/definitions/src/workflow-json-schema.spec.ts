import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator, type Schema } from '@cfworker/json-schema';
import { validateDefinition } from './validate';
import { workflowJsonSchema } from './workflow-json-schema';

const root = join(__dirname, '../../..');
const committed = JSON.parse(readFileSync(join(root, 'schemas/workflow.json'), 'utf8')) as Schema;
const examples = readdirSync(join(root, 'examples'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => [file, JSON.parse(readFileSync(join(root, 'examples', file), 'utf8'))] as const);
const schema = new Validator(committed, '2020-12', false);

const step = (type: string, extra: Record<string, unknown> = {}) => ({
  name: 'x',
  steps: [{ id: 'a', type, ...extra }],
});

describe('schemas/workflow.json', () => {
  it('is what the definition model generates (npm run schemas writes it)', () => {
    expect(committed).toEqual(workflowJsonSchema());
  });

  it.each(examples)('accepts examples/%s, as save-time validation does', (_file, example) => {
    expect(schema.validate(example).errors).toEqual([]);
    expect(validateDefinition(example).ok).toBe(true);
  });

  it.each([
    [
      'a step with expressions in non-string fields',
      step('http.request', { with: { url: 'https://x.test', timeoutMs: '{{ input.t }}' } }),
    ],
    [
      'a foreach over an item step',
      step('foreach', {
        with: {
          items: '{{ input.rows }}',
          step: { type: 'transform', with: { value: '{{ item }}' } },
        },
      }),
    ],
    [
      'triggers of every kind',
      {
        ...step('transform', { with: { value: 1 } }),
        triggers: [
          { type: 'schedule', cron: '0 9 * * 1-5', timezone: 'Europe/Paris' },
          { type: 'webhook', path: 'in', auth: 'none' },
          { type: 'run', workflow: 'other' },
        ],
      },
    ],
  ])('accepts %s, as validation does', (_what, definition) => {
    expect(schema.validate(definition).errors).toEqual([]);
    expect(validateDefinition(definition).ok).toBe(true);
  });

  it.each([
    ['an unknown step type', step('teleport')],
    ['a step without a required with field', step('http.request', { with: {} })],
    ['a with field of the wrong type', step('wait', { with: { durationMs: 'soon' } })],
    ['an unknown with field', step('transform', { with: { value: 1, extra: true } })],
    ['an unknown step field', step('transform', { with: { value: 1 }, color: 'red' })],
    [
      'an unknown trigger type',
      { ...step('transform', { with: { value: 1 } }), triggers: [{ type: 'email' }] },
    ],
    ['no steps', { name: 'x', steps: [] }],
    ['no name', { steps: [{ id: 'a', type: 'transform', with: { value: 1 } }] }],
    ['a bad step id', { name: 'x', steps: [{ id: 'A-1', type: 'transform', with: { value: 1 } }] }],
  ])('refuses %s, as validation does', (_what, definition) => {
    expect(schema.validate(definition).valid).toBe(false);
    expect(validateDefinition(definition).ok).toBe(false);
  });
});
