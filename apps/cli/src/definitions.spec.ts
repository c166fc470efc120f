import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schema } from '@cfworker/json-schema';
import {
  DefinitionSchema,
  definitionFiles,
  fileNameOf,
  formatDefinition,
  inSchemaOrder,
  jsonPath,
  parseYamlDefinition,
  readDefinition,
} from './definitions';

const root = join(__dirname, '../../..');
const schema = JSON.parse(readFileSync(join(root, 'schemas/workflow.json'), 'utf8')) as Schema;
const examples = readdirSync(join(root, 'examples'))
  .filter((name) => name.endsWith('.json'))
  .map(
    (name) =>
      [name, JSON.parse(readFileSync(join(root, 'examples', name), 'utf8'))] as [
        string,
        Record<string, unknown>,
      ],
  );

describe('definition files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-cli-defs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are a file, or the JSON and YAML files of a directory, sorted, not its subdirectories', () => {
    for (const name of ['b.yml', 'a.json', 'c.YAML', 'notes.md', 'd.weft.yaml']) {
      writeFileSync(join(dir, name), '{}');
    }
    mkdirSync(join(dir, 'nested.json'));
    expect(definitionFiles(dir)).toEqual(
      ['a.json', 'b.yml', 'c.YAML', 'd.weft.yaml'].map((name) => join(dir, name)),
    );
    expect(definitionFiles(join(dir, 'notes.md'))).toEqual([join(dir, 'notes.md')]);
    expect(() => definitionFiles(join(dir, 'missing'))).toThrow('no such file or directory');
    expect(() => definitionFiles(join(dir, 'nested.json'))).toThrow('no *.json, *.yaml or *.yml');
  });

  it('are read as JSON or YAML by extension, and must hold an object', () => {
    writeFileSync(join(dir, 'a.json'), '{"name": "a"}');
    writeFileSync(join(dir, 'b.yaml'), 'name: b\n');
    writeFileSync(join(dir, 'c.json'), '{"name": ');
    writeFileSync(join(dir, 'd.yml'), '- 1\n');
    expect(readDefinition(join(dir, 'a.json')).definition).toEqual({ name: 'a' });
    expect(readDefinition(join(dir, 'b.yaml')).definition).toEqual({ name: 'b' });
    expect(readDefinition(join(dir, 'c.json')).problem).toMatch(/^not valid JSON: /);
    expect(readDefinition(join(dir, 'd.yml')).problem).toBe(
      'not a workflow definition: expected an object',
    );
    expect(readDefinition(join(dir, 'none.json')).problem).toMatch(/ENOENT/);
  });
});

describe('YAML definitions, read as the gateway reads a YAML body', () => {
  it('take JSON’s values only: no unknown tags, no duplicate keys, one document', () => {
    expect(parseYamlDefinition('name: x\nlimit: 0x10\non: yes\n')).toEqual({
      name: 'x',
      limit: 16,
      on: 'yes',
    });
    expect(() => parseYamlDefinition('run: !!js/function "f() {}"')).toThrow(/not valid YAML/);
    expect(() => parseYamlDefinition('a: 1\na: 2\n')).toThrow(/not valid YAML: .*[Uu]nique/);
    expect(() => parseYamlDefinition('a: 1\n---\nb: 2\n')).toThrow('exactly one YAML document');
  });

  it('refuse a document that expands through too many aliases', () => {
    const anchors = ['a: &a [1]', ...Array.from({ length: 101 }, (_, i) => `k${i}: *a`)].join('\n');
    expect(() => parseYamlDefinition(anchors)).toThrow(/[Aa]lias/);
  });
});

describe('weft export files', () => {
  it.each(examples)('read back as the same definition: %s in JSON and YAML', (_name, example) => {
    expect(JSON.parse(formatDefinition(example, 'json'))).toEqual(example);
    expect(parseYamlDefinition(formatDefinition(example, 'yaml'))).toEqual(example);
  });

  it('keep strings that YAML would read as something else strings', () => {
    const tricky = {
      name: 'x',
      a: 'yes',
      b: '0x10',
      c: '1e3',
      d: 'null',
      e: '{{ input.x }}',
      f: '',
    };
    expect(parseYamlDefinition(formatDefinition(tricky, 'yaml'))).toEqual(tricky);
  });

  it('list keys in the schema’s order, changing nothing else', () => {
    const stored = {
      name: 'x',
      steps: [{ with: { z: 1, a: 2 }, type: 'transform', id: 'a', extra: true }],
      output: 1,
      description: 'd',
    };
    const ordered = inSchemaOrder(stored, schema);
    expect(ordered).toEqual(stored);
    expect(Object.keys(ordered)).toEqual(['name', 'description', 'steps', 'output']);
    const [step] = ordered['steps'] as Record<string, unknown>[];
    expect(Object.keys(step!)).toEqual(['id', 'type', 'with', 'extra']);
    expect(Object.keys(step!['with'] as object)).toEqual(['z', 'a']);
  });

  it('are named after the workflow, unsafe characters replaced', () => {
    expect(fileNameOf('uptime-check', 'json')).toBe('uptime-check.weft.json');
    expect(fileNameOf('../etc/passwd', 'yaml')).toBe('__etc_passwd.weft.yaml');
    expect(fileNameOf('Orders: EU/US', 'json')).toBe('Orders__EU_US.weft.json');
  });
});

describe('weft apply --dry-run checks against schemas/workflow.json', () => {
  const check = new DefinitionSchema(schema);
  const step = (extra: Record<string, unknown>) => ({ name: 'x', steps: [{ id: 'a', ...extra }] });

  it.each(examples)('accepts examples/%s', (_name, example) => {
    expect(check.validate(example)).toEqual([]);
  });

  it('names an unknown step type once, with the types there are', () => {
    const issues = check.validate(step({ type: 'teleport' }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('$.steps[0].type');
    expect(issues[0]?.message).toMatch(/^must be one of: transform, wait, .*http\.request/);
  });

  it('reports the problems of the step type the step has, at their paths', () => {
    expect(
      check.validate({
        name: 'x',
        steps: [
          { id: 'ok', type: 'transform', with: { value: 1 } },
          { id: 'w', type: 'wait', with: { durationMs: 'soon' } },
          { id: 't', type: 'transform', with: { value: 1, extra: 2 }, color: 'red' },
        ],
      }),
    ).toEqual([
      { path: '$.steps[1].with.durationMs', message: expect.stringMatching(/integer/) },
      { path: '$.steps[2].with', message: 'unknown property "extra"' },
      { path: '$.steps[2]', message: 'unknown property "color"' },
    ]);
  });

  it('reports a missing name and an empty step list', () => {
    const paths = check.validate({ steps: [] }).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['$', '$.steps']));
  });
});

describe('jsonPath', () => {
  it('writes JSON pointers as the API writes paths', () => {
    expect(jsonPath('#')).toBe('$');
    expect(jsonPath('#/steps/0/with/url')).toBe('$.steps[0].with.url');
    expect(jsonPath('#/inputSchema/properties/a~1b/x%20y')).toBe(
      '$.inputSchema.properties["a/b"]["x y"]',
    );
  });
});
