import { Cursor, ScheduleList, WorkflowPage, WorkflowView } from '@weft/contracts';
import { workflowJsonSchema } from '@weft/definitions';
import { z } from 'zod';
import { PageLimit } from '../http/query';
import { named, type ApiOperation } from '../openapi/api-operation';

/** The body of a save is the definition itself; the workflow service validates it. */
export const WorkflowDefinitionBody = z
  .record(z.string(), z.unknown())
  .describe(
    'A workflow definition (docs/reference/definitions.md), as JSON or YAML; its JSON Schema is served at /v1/schemas/workflow.json. Problems are reported at their path in it.',
  );
export type WorkflowDefinitionBody = z.infer<typeof WorkflowDefinitionBody>;

export const WorkflowParams = z.strictObject({ id: z.uuid() });
export type WorkflowParams = z.infer<typeof WorkflowParams>;

export const WorkflowVersionParams = z.strictObject({
  id: z.uuid(),
  v: z.coerce.number().pipe(z.int().min(1)),
});
export type WorkflowVersionParams = z.infer<typeof WorkflowVersionParams>;

export const ListWorkflowsQuery = z.strictObject({
  limit: PageLimit,
  cursor: Cursor.optional(),
  /** The active workflow of this name, if any (names are unique among active workflows). */
  name: z.string().min(1).max(200).optional(),
});
export type ListWorkflowsQuery = z.infer<typeof ListWorkflowsQuery>;

// Documented as the editor's schema (schemas/workflow.json), so generated clients type the body.
const definition = named('WorkflowDefinition', WorkflowDefinitionBody, () => ({
  ...workflowJsonSchema(),
  description: WorkflowDefinitionBody.description,
}));
/** YAML is parsed to the same value before validation (http/yaml-body.ts). */
const definitionTypes = ['application/json', 'application/yaml'];
const workflow = named('Workflow', WorkflowView);
const tag = 'workflows';

export const workflowOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/workflows',
    operationId: 'createWorkflow',
    summary: 'Save a new workflow at version 1',
    tag,
    security: 'apiKey',
    body: definition,
    bodyTypes: definitionTypes,
    responses: {
      201: { description: 'Created', body: workflow, headers: { location: 'The workflow' } },
    },
    problems: [400, 413, 415, 503],
  },
  {
    method: 'GET',
    path: '/v1/workflows',
    operationId: 'listWorkflows',
    summary: 'List active workflows, newest first; `name` finds the one of that name',
    tag,
    security: 'apiKey',
    query: ListWorkflowsQuery,
    responses: { 200: { description: 'A page', body: named('WorkflowPage', WorkflowPage) } },
    problems: [400, 503],
  },
  {
    method: 'GET',
    path: '/v1/workflows/{id}',
    operationId: 'getWorkflow',
    summary: 'Read the latest version of a workflow',
    tag,
    security: 'apiKey',
    params: WorkflowParams,
    responses: { 200: { description: 'The latest version', body: workflow } },
    problems: [400, 404, 503],
  },
  {
    method: 'GET',
    path: '/v1/workflows/{id}/versions/{v}',
    operationId: 'getWorkflowVersion',
    summary: 'Read one version of a workflow',
    tag,
    security: 'apiKey',
    params: WorkflowVersionParams,
    responses: { 200: { description: 'That version', body: workflow } },
    problems: [400, 404, 503],
  },
  {
    method: 'GET',
    path: '/v1/workflows/{id}/schedules',
    operationId: 'listWorkflowSchedules',
    summary: 'The schedule triggers of a workflow: next slots, last fired, skipped and missed',
    tag,
    security: 'apiKey',
    params: WorkflowParams,
    responses: {
      200: {
        description: 'One entry per schedule trigger',
        body: named('ScheduleList', ScheduleList),
      },
    },
    problems: [400, 404, 503],
  },
  {
    method: 'PUT',
    path: '/v1/workflows/{id}',
    operationId: 'updateWorkflow',
    summary: 'Save a new version of a workflow',
    tag,
    security: 'apiKey',
    params: WorkflowParams,
    body: definition,
    bodyTypes: definitionTypes,
    responses: { 200: { description: 'The new version', body: workflow } },
    problems: [400, 404, 409, 413, 415, 503],
  },
  {
    method: 'DELETE',
    path: '/v1/workflows/{id}',
    operationId: 'archiveWorkflow',
    summary: 'Archive a workflow: no new runs or triggers, history kept',
    tag,
    security: 'apiKey',
    params: WorkflowParams,
    responses: { 204: { description: 'Archived' } },
    problems: [400, 404, 503],
  },
];
