import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ErrorCatalogue,
  RUN_EVENT_TYPES,
  RunTrigger,
  STEP_ERROR_CODES,
  type DomainErrorCode,
} from '@weft/contracts';
import {
  COMMON_STEP_ERRORS,
  Concurrency,
  RetryPolicy,
  STEP_TYPE_NAMES,
  STEP_TYPES,
  StepDefinition,
  Trigger,
  validateDefinition,
  WorkflowDefinition,
} from '@weft/definitions';
import MarkdownIt from 'markdown-it';
import type { z } from 'zod';
import { configSchema as aiConfig } from '../../apps/ai/src/config';
import { configSchema as gatewayConfig } from '../../apps/gateway/src/config';
import { parseYamlDefinition } from '../../apps/gateway/src/http/yaml-body';
import { apiOperations } from '../../apps/gateway/src/openapi/openapi.document';
import { problemTypeOf } from '../../apps/gateway/src/problem/problem';
import { configSchema as integrationConfig } from '../../apps/integration/src/config';
import { configSchema as standaloneConfig } from '../../apps/standalone/src/config';
import { configSchema as workflowConfig } from '../../apps/workflow/src/config';

/**
 * Keeps docs/reference/ true to the code: each check reads a registry of the code (step types,
 * routes, error codes, triggers, configuration), so a new step type, route, code or trigger
 * without its documentation fails here, and so does every example definition that the
 * project's own validation refuses.
 */
const dir = join(__dirname, '../../docs/reference');
const markdown = new MarkdownIt();

interface Section {
  /** The heading's text without its code spans' backticks: `http.request`, `POST /v1/runs`. */
  heading: string;
  level: number;
  /** The section's Markdown source, its heading included, up to the next heading as deep or deeper. */
  text: string;
}

interface Example {
  page: string;
  line: number;
  language: string;
  source: string;
}

interface Page {
  name: string;
  text: string;
  sections: Section[];
  examples: Example[];
}

/**
 * The fence marker of an example definition: ```json weft or ```yaml weft. Every such block is
 * a whole workflow definition, validated below as `POST /v1/workflows` would validate it.
 */
const EXAMPLE_MARKER = 'weft';

export function parsePage(name: string, text: string): Page {
  const tokens = markdown.parse(text, {});
  const lines = text.split('\n');
  const headings = tokens.flatMap((token, index) =>
    token.type === 'heading_open' && token.map
      ? [
          {
            level: Number(token.tag.slice(1)),
            line: token.map[0],
            heading: (tokens[index + 1]?.content ?? '').replaceAll('`', '').trim(),
          },
        ]
      : [],
  );
  const sections = headings.map(({ level, line, heading }, index) => {
    const end = headings.slice(index + 1).find((next) => next.level <= level)?.line;
    return { heading, level, text: lines.slice(line, end).join('\n') };
  });
  const examples = tokens.flatMap((token) => {
    const [language = '', ...flags] = token.info.trim().split(/\s+/);
    return token.type === 'fence' && flags.includes(EXAMPLE_MARKER)
      ? [{ page: name, line: (token.map?.[0] ?? 0) + 1, language, source: token.content }]
      : [];
  });
  return { name, text, sections, examples };
}

/** What validation says of an example: [] when it is a valid definition. */
export function exampleProblems(example: Example): string[] {
  let definition: unknown;
  try {
    if (example.language === 'json') definition = JSON.parse(example.source);
    else if (example.language === 'yaml') definition = parseYamlDefinition(example.source);
    else return [`an example must be json or yaml, not "${example.language}"`];
  } catch (error) {
    return [(error as Error).message];
  }
  const result = validateDefinition(definition);
  return result.ok ? [] : result.problems.map(({ path, message }) => `${path}: ${message}`);
}

const pages = new Map(
  readdirSync(dir)
    .filter((file) => file.endsWith('.md'))
    .map((file) => [file, parsePage(file, readFileSync(join(dir, file), 'utf8'))]),
);

function page(name: string): Page {
  const found = pages.get(name);
  if (!found) throw new Error(`docs/reference/${name} is missing`);
  return found;
}

function section(name: string, heading: string, level?: number): Section {
  const found = page(name).sections.filter(
    (s) => s.heading === heading && (level === undefined || s.level === level),
  );
  if (found.length !== 1) {
    throw new Error(`docs/reference/${name} has ${found.length} sections headed "${heading}"`);
  }
  return found[0]!;
}

/** Whether `text` names `word` as code: `word`. */
const namesAsCode = (text: string, word: string): boolean => text.includes(`\`${word}\``);

const fieldsOf = (schema: z.ZodType): string[] =>
  Object.keys((schema as unknown as z.ZodObject).shape);

/** The names of the variants of a discriminated union on `type`. */
const typesOf = (union: { options: readonly unknown[] }): string[] =>
  union.options.map((option) => (option as z.ZodObject).shape.type!.def.values[0] as string);

describe('the reference checker', () => {
  // A check that cannot fail is no check: these prove it reports what it should.
  it('finds marked examples, and only those', () => {
    const found = parsePage(
      'x.md',
      '# X\n\n```json weft\n{"name":"a","steps":[]}\n```\n\n```json\n{"not":"an example"}\n```\n',
    );
    expect(found.examples).toEqual([
      { page: 'x.md', line: 3, language: 'json', source: '{"name":"a","steps":[]}\n' },
    ]);
    expect(exampleProblems(found.examples[0]!)).toEqual([
      '$.steps: a workflow needs at least one step',
    ]);
  });

  it('reads YAML examples as the API does, and refuses other languages', () => {
    const yaml = (source: string, language = 'yaml') => ({ page: 'x', line: 1, language, source });
    expect(exampleProblems(yaml('name: a\nsteps:\n  - id: s\n    type: transform\n'))).toEqual([]);
    expect(exampleProblems(yaml('name: a\nname: b\n'))[0]).toMatch(/not valid YAML/);
    expect(exampleProblems(yaml('{}', 'js'))).toEqual([
      'an example must be json or yaml, not "js"',
    ]);
  });

  it('cuts a section at the next heading as deep, not at a deeper one', () => {
    const { sections } = parsePage('x.md', '## `a`\none\n### b\ntwo\n## c\nthree\n');
    expect(sections.map(({ heading, text }) => [heading, text])).toEqual([
      ['a', '## `a`\none\n### b\ntwo'],
      ['b', '### b\ntwo'],
      ['c', '## c\nthree\n'],
    ]);
  });
});

describe('docs/reference/', () => {
  it('has an index that links every page, the CLI page included', () => {
    const index = page('README.md').text;
    const linked = [...index.matchAll(/\]\(([a-z-]+\.md)(#[^)]*)?\)/g)].map((match) => match[1]);
    expect(linked).toEqual(
      expect.arrayContaining([...[...pages.keys()].filter((f) => f !== 'README.md'), 'cli.md']),
    );
  });

  const examples = [...pages.values()].flatMap((p) => p.examples);

  it.each(['definitions.md', 'expressions.md', 'triggers.md', 'steps.md'])(
    '%s shows at least one example definition',
    (name) => expect(page(name).examples.length).toBeGreaterThan(0),
  );

  it.each(examples.map((e) => [`${e.page}:${e.line}`, e] as const))(
    'example at %s is a valid definition',
    (_at, example) => expect(exampleProblems(example)).toEqual([]),
  );
});

describe('definitions.md', () => {
  const text = page('definitions.md').text;

  it.each([
    ...fieldsOf(WorkflowDefinition).map((field) => ['a definition', field]),
    ...fieldsOf(StepDefinition).map((field) => ['a step', field]),
    ...fieldsOf(RetryPolicy).map((field) => ['retry', field]),
    ...fieldsOf(Concurrency).map((field) => ['concurrency', field]),
  ])('describes the field of %s `%s`', (_of, field) => {
    expect(namesAsCode(text, field)).toBe(true);
  });
});

describe('steps.md', () => {
  const steps = page('steps.md');

  describe.each(STEP_TYPE_NAMES)('%s', (name) => {
    const type = STEP_TYPES[name];
    const own = () => section('steps.md', name, 2);

    it('has its section', () => expect(own().heading).toBe(name));

    it.each(fieldsOf(type.with))('describes the with field `%s`', (field) => {
      expect(namesAsCode(own().text, field)).toBe(true);
    });

    it.each(type.errors.length > 0 ? [...type.errors] : ['(none)'])(
      'names the error code `%s` it may fail with',
      (code) => {
        if (code !== '(none)') expect(namesAsCode(own().text, code)).toBe(true);
      },
    );

    it('shows an example definition that uses it', () => {
      const used = parsePage('steps.md', own().text).examples.flatMap((example) => {
        const result = validateDefinition(JSON.parse(example.source));
        return result.ok
          ? result.definition.steps.flatMap((step) => [
              step.type,
              String((step.with.step as { type?: unknown } | undefined)?.type),
            ])
          : [];
      });
      expect(used).toContain(name);
    });
  });

  it('has no section for a step type that does not exist', () => {
    const headed = steps.sections
      .filter((s) => s.level === 2 && /^[a-z]+(\.[a-z]+)?$/.test(s.heading))
      .map((s) => s.heading);
    expect(headed.sort()).toEqual([...STEP_TYPE_NAMES].sort());
  });

  it.each([...COMMON_STEP_ERRORS])('names the common error code `%s`', (code) => {
    expect(namesAsCode(section('steps.md', 'Errors every step may fail with').text, code)).toBe(
      true,
    );
  });

  it.each([...STEP_ERROR_CODES])('lists the step error `%s` in its catalogue', (code) => {
    expect(section('steps.md', 'Step errors', 2).text).toMatch(
      new RegExp(`^\\| \`${code}\` +\\|`, 'm'),
    );
  });
});

describe('api.md', () => {
  const api = page('api.md');
  const routes = apiOperations.map(({ method, path }) => `${method} ${path}`);

  it.each(routes)('describes %s under its own heading', (route) => {
    expect(api.sections.filter((s) => s.heading === route)).toHaveLength(1);
  });

  it('describes no route the gateway does not serve', () => {
    const headed = api.sections
      .map((s) => s.heading)
      .filter((heading) => /^(GET|POST|PUT|PATCH|DELETE|HEAD) \//.test(heading));
    expect(headed.sort()).toEqual([...routes].sort());
  });

  it.each(Object.keys(ErrorCatalogue) as DomainErrorCode[])(
    'lists the error code `%s` with its problem type',
    (code) => {
      const row = api.text
        .split('\n')
        .find((line) => line.startsWith(`| \`${problemTypeOf(code)}\``));
      expect(row && namesAsCode(row, code)).toBe(true);
    },
  );

  it.each([...RUN_EVENT_TYPES])('describes the run event `%s`', (type) => {
    expect(namesAsCode(section('api.md', 'Event streams').text, type)).toBe(true);
  });
});

describe('triggers.md', () => {
  const triggers = page('triggers.md');

  describe.each(typesOf(Trigger))('the %s trigger', (type) => {
    const own = () => {
      const found = triggers.sections.filter(
        (s) => s.level === 2 && s.heading.endsWith(`(${type})`),
      );
      if (found.length !== 1) throw new Error(`${found.length} sections name ${type}`);
      return found[0]!;
    };
    const schema = Trigger.options.find((option) => typesOf({ options: [option] })[0] === type)!;

    it.each(fieldsOf(schema))('describes its field `%s`', (field) => {
      expect(namesAsCode(own().text, field)).toBe(true);
    });
  });

  it.each(typesOf(RunTrigger))('says what `run.trigger` is for a run started by `%s`', (type) => {
    expect(section('triggers.md', 'What a run records', 2).text).toMatch(
      new RegExp(`^\\| \`${type.replace('.', '\\.')}\` +\\|`, 'm'),
    );
  });
});

describe('limits.md', () => {
  const text = page('limits.md').text;
  const variables = new Set(
    [gatewayConfig, workflowConfig, integrationConfig, aiConfig, standaloneConfig].flatMap(
      (schema) => Object.keys(schema.shape),
    ),
  );

  it('names only variables a service reads', () => {
    const named = [...text.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((variable) => !variables.has(variable))).toEqual([]);
  });

  // GATEWAY_SHARE_PORT is how replicas bind, not a limit (operations.md has it).
  it.each(
    Object.keys(gatewayConfig.shape).filter(
      (v) => v.startsWith('GATEWAY_') && v !== 'GATEWAY_SHARE_PORT',
    ),
  )('names the gateway limit `%s`', (variable) => expect(namesAsCode(text, variable)).toBe(true));
});
