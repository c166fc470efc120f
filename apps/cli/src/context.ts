import { allPages, apiClient, ok, type Api, type Workflow } from './api/client';
import { resolveSettings } from './config';

/** The API client of the saved or given settings (WEFT_URL / WEFT_API_KEY, then the config file). */
export function connect(): Api {
  return apiClient(resolveSettings());
}

/** The tenant's active workflow of this name (names are unique among active workflows). */
export async function findWorkflow(api: Api, name: string): Promise<Workflow | undefined> {
  const page = await ok(api.GET('/v1/workflows', { params: { query: { name, limit: 1 } } }));
  return page.items[0];
}

export async function workflowNamed(api: Api, name: string): Promise<Workflow> {
  const workflow = await findWorkflow(api, name);
  if (!workflow) throw new Error(`no active workflow is named ${name} (weft apply creates it)`);
  return workflow;
}

/** Every active workflow of the tenant, newest first. */
export const allWorkflows = (api: Api): Promise<Workflow[]> =>
  allPages((cursor) =>
    ok(api.GET('/v1/workflows', { params: { query: { limit: 100, ...(cursor && { cursor }) } } })),
  );
