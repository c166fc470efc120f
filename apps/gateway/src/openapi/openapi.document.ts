import { WORKFLOW_SCHEMA_PATH } from '@weft/definitions';
import { z } from 'zod';
import { apiKeyOperations } from '../api-keys/api-key.api';
import { approvalOperations } from '../approvals/approval.api';
import { usageOperations } from '../usage/usage.api';
import { credentialOperations } from '../credentials/credential.api';
import { hookOperations } from '../hooks/hook.api';
import { Problem } from '../problem/problem';
import { probeOperations } from '../probes/probe.api';
import { runOperations } from '../runs/run.api';
import { tenantOperations } from '../tenants/tenant.api';
import { workflowOperations } from '../workflows/workflow.api';
import type { ApiOperation, ApiResponse, NamedSchema } from './api-operation';
import { healthOperations } from './health.api';

type JsonObject = Record<string, unknown>;

export const openApiOperations: ApiOperation[] = [
  {
    method: 'GET',
    path: '/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'OpenAPI 3.1' } },
    problems: [],
  },
  {
    method: 'GET',
    path: WORKFLOW_SCHEMA_PATH,
    operationId: 'getWorkflowSchema',
    summary:
      'The workflow definition as a JSON Schema (2020-12), for editors: every step type’s `with`, the triggers and policies (also committed as schemas/workflow.json)',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'JSON Schema 2020-12' } },
    problems: [],
  },
];

/** Every route the gateway serves; a unit test holds this list to the registered routes. */
export const apiOperations: readonly ApiOperation[] = [
  ...tenantOperations,
  ...apiKeyOperations,
  ...workflowOperations,
  ...runOperations,
  ...hookOperations,
  ...approvalOperations,
  ...credentialOperations,
  ...usageOperations,
  ...probeOperations,
  ...healthOperations,
  ...openApiOperations,
];

/** The gateway's OpenAPI document: served, and committed as schemas/openapi.json for clients. */
export const openApiDocument = (): JsonObject => buildOpenApiDocument(apiOperations);

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid; `errors` gives each problem at its JSON path: $.body…, $.query…, $.params…, $.headers…, or from the root of a workflow definition ($.steps[0].id)',
  401: 'No key, or not a valid one (unknown, revoked or expired: `detail` says which)',
  403: 'The API key lacks the scope this needs (`read` keys may only GET)',
  404: 'Not found, or not this tenant’s',
  409: 'Conflicts with the current state',
  413: 'The body is too large: a definition is at most 1 MiB',
  415: 'The body is not JSON',
  429: 'The tenant is over a limit (requestsPerSecond, runsPerSecond, or its open event streams): retry after Retry-After seconds; RateLimit-Policy and RateLimit give the quota and what is left of it',
  500: 'Internal error',
  503: 'A service is unavailable; retry after Retry-After',
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The OpenAPI 3.1 document of `operations`, its schemas generated from their zod schemas. */
export function buildOpenApiDocument(operations: readonly ApiOperation[]): JsonObject {
  // Requests are documented as clients write them (defaults optional), answers as sent.
  const requests = z.registry<{ id: string }>();
  const answers = z.registry<{ id: string }>();
  const documented = new Map<string, JsonObject>();
  const register = (registry: typeof requests, { name, schema, documented: doc }: NamedSchema) => {
    const known = registry.get(schema);
    if (!known) registry.add(schema, { id: name });
    else if (known.id !== name) throw new Error(`schema ${name} is also named ${known.id}`);
    if (doc && !documented.has(name)) documented.set(name, withoutDialect(doc()));
    return ref(name);
  };
  register(answers, { name: 'Problem', schema: Problem });

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const operation of operations) {
    const item = (paths[operation.path] ??= {});
    item[operation.method.toLowerCase()] = {
      operationId: operation.operationId,
      summary: operation.summary,
      tags: [operation.tag],
      security: operation.security === 'none' ? [] : [{ [operation.security]: [] }],
      parameters: parametersOf(operation),
      ...(operation.body && {
        requestBody: {
          required: !operation.body.schema.safeParse(undefined).success,
          content: Object.fromEntries(
            (operation.bodyTypes ?? ['application/json']).map((type) => [
              type,
              { schema: register(requests, operation.body!) },
            ]),
          ),
        },
      }),
      responses: {
        ...responsesOf(operation.responses, (body) => register(answers, body)),
        ...problemsOf(operation),
      },
    };
  }

  const requestSchemas = componentsOf(requests, 'input');
  const answerSchemas = componentsOf(answers, 'output');
  const clash = Object.keys(requestSchemas).find((name) => name in answerSchemas);
  if (clash) throw new Error(`schema name ${clash} names both a request and an answer`);
  const schemas = { ...requestSchemas, ...answerSchemas, ...Object.fromEntries(documented) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Weft API',
      version: '1',
      description:
        'Workflows, runs and credentials of one tenant, authenticated with its API key ' +
        '(`Authorization: Bearer wk_…`). Errors are `application/problem+json`.',
    },
    tags: [...new Set(operations.map((operation) => operation.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A tenant’s API key (wk_…); one with only the read scope may only GET',
        },
        adminKey: { type: 'http', scheme: 'bearer', description: 'The operator’s WEFT_ADMIN_KEY' },
      },
    },
  };
}

function parametersOf(operation: ApiOperation): JsonObject[] {
  const locations = [
    ['path', operation.params],
    ['query', operation.query],
    ['header', operation.headers],
  ] as const;
  return locations.flatMap(([location, schema]) =>
    (Object.entries(schema?.shape ?? {}) as [string, z.ZodType][]).map(([name, field]) => {
      const { description, ...fieldSchema } = jsonSchemaOf(field, 'output');
      return {
        name,
        in: location,
        required: location === 'path' || !field.safeParse(undefined).success,
        ...(typeof description === 'string' && { description }),
        schema: fieldSchema,
      };
    }),
  );
}

function responsesOf(
  responses: Record<number, ApiResponse>,
  register: (body: NamedSchema) => JsonObject,
): Record<string, JsonObject> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      {
        description: response.description,
        ...(response.headers && {
          headers: Object.fromEntries(
            Object.entries(response.headers).map(([name, description]) => [
              name,
              { description, schema: { type: 'string' } },
            ]),
          ),
        }),
        ...(response.body && {
          content: {
            [response.contentType ?? 'application/json']: { schema: register(response.body) },
          },
        }),
      },
    ]),
  );
}

function problemsOf(operation: ApiOperation): Record<string, JsonObject> {
  const statuses = new Set([
    ...operation.problems,
    ...(operation.security === 'none' ? [] : [401]),
    // ApiKeyGuard asks for the write scope by method: everything but GET.
    ...(operation.security === 'apiKey' && operation.method !== 'GET' ? [403] : []),
    // ApiKeyGuard counts every request against its tenant's requestsPerSecond.
    ...(operation.security === 'apiKey' ? [429] : []),
    500,
  ]);
  return Object.fromEntries(
    [...statuses]
      .sort((a, b) => a - b)
      .map((status) => {
        const description = PROBLEM_DESCRIPTIONS[status];
        if (!description) throw new Error(`no description of problem status ${status}`);
        return [
          String(status),
          { description, content: { 'application/problem+json': { schema: ref('Problem') } } },
        ];
      }),
  );
}

function componentsOf(
  registry: z.core.$ZodRegistry<{ id: string }>,
  io: 'input' | 'output',
): Record<string, JsonObject> {
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, withoutDialect(schema)]),
  );
}

function jsonSchemaOf(schema: z.core.$ZodType, io: 'input' | 'output'): JsonObject {
  return withoutDialect(
    z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }),
  );
}

/** OpenAPI 3.1 sets the dialect once; components are referenced by path, not by `$id`. */
function withoutDialect(schema: JsonObject): JsonObject {
  const rest = { ...schema };
  delete rest['$schema'];
  delete rest['$id'];
  return rest;
}
