import type { FastifyRequest } from 'fastify';
import { parseAllDocuments } from 'yaml';

/** Workflow definitions may be sent as YAML: what people keep in git is often YAML. */
const YAML_TYPES = /^(application\/(x-)?yaml|text\/yaml)\s*(;|$)/i;
const YAML_ROUTES = /^\/v1\/workflows(\/[^/?]+)?(\?|$)/;

/** Whether the request is a definition sent as YAML (`POST /v1/workflows`, `PUT …/{id}`). */
export const isYamlDefinition = (request: FastifyRequest): boolean =>
  YAML_TYPES.test(request.headers['content-type'] ?? '') &&
  YAML_ROUTES.test(request.url) &&
  (request.method === 'POST' || request.method === 'PUT');

/**
 * A YAML definition as the value JSON would have given: the core schema (JSON's values only;
 * an unknown tag such as `!!js/function` is refused, nothing is ever executed), duplicate keys
 * refused, one document only, and at most 100 aliases so a "billion laughs" document cannot
 * expand past the body limit. The value then passes the checks of any JSON body
 * (JsonBodyCheck: depth, U+0000). Throws with the first line of the parser's reason.
 */
export function parseYamlDefinition(text: string): unknown {
  try {
    const documents = parseAllDocuments(text, {
      schema: 'core',
      uniqueKeys: true,
      logLevel: 'silent',
    });
    if (!Array.isArray(documents) || documents.length !== 1) {
      throw new Error('expected exactly one YAML document');
    }
    const [document] = documents as [(typeof documents)[number]];
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem) throw problem;
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new Error(`the body is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}
