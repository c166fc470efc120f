import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Validator, type OutputUnit, type Schema } from '@cfworker/json-schema';
import { parseAllDocuments, stringify } from 'yaml';

/** A problem in a definition, at its JSON path (`$.steps[0].id`), as the API reports them. */
export interface Issue {
  path: string;
  message: string;
}

/** One file given to `weft apply`: its definition, or why it could not be read. */
export interface DefinitionFile {
  file: string;
  definition?: Record<string, unknown>;
  problem?: string;
}

const DEFINITION_FILE = /\.(json|ya?ml)$/i;
const isYaml = (file: string) => /\.ya?ml$/i.test(file);

/**
 * The definition files `target` names: the file itself, or every `*.json`, `*.yaml` and `*.yml`
 * directly in the directory, sorted by name (so a plan reads the same every time).
 */
export function definitionFiles(target: string): string[] {
  const stats = statSync(target, { throwIfNoEntry: false });
  if (!stats) throw new Error(`${target}: no such file or directory`);
  if (!stats.isDirectory()) return [target];
  const files = readdirSync(target, { withFileTypes: true })
    .filter((entry) => entry.isFile() && DEFINITION_FILE.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(target, name));
  if (files.length === 0) throw new Error(`${target}: no *.json, *.yaml or *.yml files`);
  return files;
}

/** Reads and parses one definition file, JSON or YAML by its extension. */
export function readDefinition(file: string): DefinitionFile {
  let value: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    value = isYaml(file) ? parseYamlDefinition(text) : parseJson(text);
  } catch (error) {
    return { file, problem: (error as Error).message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { file, problem: 'not a workflow definition: expected an object' };
  }
  return { file, definition: value as Record<string, unknown> };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * YAML read the way the gateway reads a YAML body (apps/gateway/src/http/yaml-body.ts), so a
 * file is accepted here exactly when the API would accept it: the core schema (JSON's values
 * only, unknown tags refused), duplicate keys refused, one document, at most 100 aliases.
 */
export function parseYamlDefinition(text: string): unknown {
  const documents = parseAllDocuments(text, {
    schema: 'core',
    uniqueKeys: true,
    logLevel: 'silent',
  });
  if (!Array.isArray(documents) || documents.length !== 1) {
    throw new Error('not valid YAML: expected exactly one YAML document');
  }
  const [document] = documents as [(typeof documents)[number]];
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw new Error(`not valid YAML: ${problem.message.split('\n')[0]}`);
  return document.toJS({ maxAliasCount: 100 });
}

/** A definition as `weft export` writes it; `readDefinition` reads it back unchanged. */
export function formatDefinition(definition: unknown, format: 'json' | 'yaml'): string {
  return format === 'json'
    ? `${JSON.stringify(definition, null, 2)}\n`
    : stringify(definition, { schema: 'core', aliasDuplicateObjects: false, lineWidth: 0 });
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function ordered(value: Json, keys: readonly string[]): Json {
  const known = keys.filter((key) => key in value);
  const rest = Object.keys(value).filter((key) => !keys.includes(key));
  return Object.fromEntries([...known, ...rest].map((key) => [key, value[key]]));
}

/**
 * The definition with its keys, and each step's, in the order the workflow JSON Schema lists
 * them (name, description, inputSchema, triggers, steps, output; a step's id, type, needs, …),
 * others after: the server stores definitions as PostgreSQL jsonb, which keeps keys in an order
 * of its own. Only the order changes, so `weft apply` reads the file as the same definition.
 */
export function inSchemaOrder(definition: Json, schema: Schema): Json {
  const properties = (node: unknown) =>
    isObject(node) && isObject(node['properties']) ? Object.keys(node['properties']) : [];
  const stepSchema = isObject(schema.properties) ? schema.properties['steps'] : undefined;
  const items = isObject(stepSchema) ? stepSchema['items'] : undefined;
  const branches: unknown[] =
    isObject(items) && Array.isArray(items['oneOf']) ? items['oneOf'] : [items];
  const stepKeys = [...new Set(branches.flatMap(properties))];
  const result = ordered(definition, properties(schema));
  const steps: unknown = result['steps'];
  if (Array.isArray(steps)) {
    result['steps'] = steps.map((step: unknown) =>
      isObject(step) ? ordered(step, stepKeys) : step,
    );
  }
  return result;
}

/** A file name for a workflow's name (names are free text): unsafe characters become `_`. */
export function fileNameOf(name: string, format: 'json' | 'yaml'): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return `${safe}.weft.${format}`;
}

/**
 * Checks definitions against the workflow JSON Schema (schemas/workflow.json, which the server
 * also serves) with @cfworker/json-schema: what `weft apply --dry-run` can tell without saving.
 * The server checks more when it saves (step references, cycles, expressions).
 */
export class DefinitionSchema {
  private readonly validator: Validator;

  constructor(schema: Schema) {
    this.validator = new Validator(schema, '2020-12', false);
  }

  validate(definition: unknown): Issue[] {
    const { errors } = this.validator.validate(definition);
    return issuesOf(errors);
  }
}

/** Keywords whose error only says that something below them failed. */
const CONTAINERS = new Set([
  'properties',
  'items',
  'prefixItems',
  'additionalProperties',
  'allOf',
  'anyOf',
  'oneOf',
  '$ref',
  'if',
  'then',
  'else',
]);

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The schema validator's output made readable: step types (and trigger types) are a `oneOf`
 * told apart by a `const` on `type`, so the branches whose `type` does not match are dropped
 * (or, when none matches, one issue names the allowed values); what remains is reported at the
 * deepest places that failed, several failures of one value (an `anyOf`) joined with "or".
 */
export function issuesOf(errors: readonly OutputUnit[]): Issue[] {
  /** Errors at or below `instance` whose keyword location starts with `keyword`. */
  const under = (instance: string, keyword: string) => (error: OutputUnit) =>
    (error.instanceLocation === instance || error.instanceLocation.startsWith(`${instance}/`)) &&
    error.keywordLocation.startsWith(keyword);
  const excluded: ((error: OutputUnit) => boolean)[] = [];
  const issues: Issue[] = [];
  for (const choice of errors.filter((error) => error.keyword === 'oneOf')) {
    const inChoice = errors.filter(under(choice.instanceLocation, `${choice.keywordLocation}/`));
    const branchOf = new RegExp(`^${escape(choice.keywordLocation)}/(\\d+)/`);
    const discriminator = new RegExp(
      `^${escape(choice.keywordLocation)}/(\\d+)/properties/([^/]+)/const$`,
    );
    const branches = new Set<string>();
    const ruledOut = new Map<string, { property: string; expected: string }>();
    for (const error of inChoice) {
      const branch = branchOf.exec(error.keywordLocation)?.[1];
      if (branch !== undefined) branches.add(branch);
      const match = discriminator.exec(error.keywordLocation);
      if (match && error.instanceLocation === `${choice.instanceLocation}/${match[2]}`) {
        ruledOut.set(match[1]!, {
          property: match[2]!,
          expected: /"(.*)"/.exec(error.error)?.[1] ?? '',
        });
      }
    }
    if (ruledOut.size === 0) continue;
    for (const branch of ruledOut.keys()) {
      excluded.push(under(choice.instanceLocation, `${choice.keywordLocation}/${branch}/`));
    }
    if ([...branches].every((branch) => ruledOut.has(branch))) {
      const values = [...ruledOut.values()];
      const property = values[0]!.property;
      const allowed = values.map(({ expected }) => expected);
      issues.push({
        path: jsonPath(`${choice.instanceLocation}/${property}`),
        message: `must be one of: ${allowed.join(', ')}`,
      });
      excluded.push((error) => error === choice);
    }
  }
  const kept = errors.filter(
    (error) => error.keyword !== 'false' && !excluded.some((isExcluded) => isExcluded(error)),
  );
  // A container is reported only when nothing below it failed (checked before the exclusions,
  // so a container whose failures were all ruled out says nothing either).
  const leaves = kept.filter(
    (error) =>
      !CONTAINERS.has(error.keyword) ||
      !errors.some(
        (other) =>
          other !== error &&
          other.keyword !== 'false' &&
          other.keywordLocation.startsWith(`${error.keywordLocation}/`) &&
          under(error.instanceLocation, '')(other),
      ),
  );
  const byPath = new Map<string, string[]>();
  for (const leaf of leaves) {
    const path = jsonPath(leaf.instanceLocation);
    const message = messageOf(leaf);
    const messages = byPath.get(path) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byPath.set(path, messages);
  }
  for (const [path, messages] of byPath) issues.push({ path, message: messages.join(', or ') });
  return issues;
}

function messageOf(error: OutputUnit): string {
  if (error.keyword === 'additionalProperties') {
    const property = /"(.*)"/.exec(error.error)?.[1];
    return property ? `unknown property "${property}"` : error.error;
  }
  return error.error.replace(/\.$/, '');
}

/** `#/steps/0/with` → `$.steps[0].with`, the API's way of writing a place in the body. */
export function jsonPath(pointer: string): string {
  const parts = pointer
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((part) => decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce(
    (path, part) =>
      /^\d+$/.test(part)
        ? `${path}[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `${path}.${part}`
          : `${path}[${JSON.stringify(part)}]`,
    '$',
  );
}
