import type { z } from 'zod';

/** A schema with the name it has under `components.schemas` of the OpenAPI document. */
export interface NamedSchema {
  name: string;
  schema: z.ZodType;
  /**
   * The JSON Schema to document instead of the zod schema's, where the gateway only checks the
   * shape and a service validates the rest (the workflow definition body).
   */
  documented?: () => Record<string, unknown>;
}

export const named = (
  name: string,
  schema: z.ZodType,
  documented?: NamedSchema['documented'],
): NamedSchema => ({ name, schema, ...(documented && { documented }) });

export interface ApiResponse {
  description: string;
  body?: NamedSchema;
  /** `application/json` unless said otherwise. */
  contentType?: string;
  /** Response headers, by name, with their description. */
  headers?: Record<string, string>;
}

/**
 * One route of the HTTP API, described with the very schemas its controller validates with;
 * the OpenAPI document is built from these, and a test checks them against the routes.
 */
export interface ApiOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI style: `/v1/runs/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  security: 'apiKey' | 'adminKey' | 'none';
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: NamedSchema;
  /** The body's media types; `application/json` unless said otherwise. */
  bodyTypes?: string[];
  responses: Record<number, ApiResponse>;
  /**
   * Statuses answered as problem+json; 401 (when secured), 403 (with the API key, unless GET:
   * a `read` key), 429 (with the API key: its tenant's requestsPerSecond) and 500 are implied.
   */
  problems: number[];
}
