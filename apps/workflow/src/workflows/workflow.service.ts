import {
  decodeCursor,
  DomainError,
  page,
  type ArchiveWorkflow,
  type CreateWorkflow,
  type Done,
  type GetWorkflow,
  type EventTriggerList,
  type ListSchedules,
  type ListWorkflows,
  type ScheduleList,
  type ResolvedWebhook,
  type ResolveWebhook,
  type UpdateWorkflow,
  type WorkflowPage,
  type WorkflowView,
} from '@weft/contracts';
import { validateDefinition, type WorkflowDefinition } from '@weft/definitions';
import { uuidv7 } from '@weft/runtime';
import { isDeepStrictEqual } from 'node:util';
import type { TriggerRepository } from '../triggers/trigger.repository';
import type { TriggersToSave, WorkflowRepository } from './workflow.repository';

/** Workflows and their versions: a save validates the whole definition first. */
export class WorkflowService {
  constructor(
    private readonly workflows: WorkflowRepository,
    private readonly triggers: TriggerRepository,
  ) {}

  async create({ tenantId, definition }: CreateWorkflow): Promise<WorkflowView> {
    const valid = validOrThrow(definition);
    // The definition is kept as the user wrote it; defaults apply when the engine reads it.
    return this.workflows.create(tenantId, uuidv7(), valid.name, definition, triggersOf(valid));
  }

  async update({ tenantId, workflowId, definition }: UpdateWorkflow): Promise<WorkflowView> {
    const valid = validOrThrow(definition);
    // The same definition again is no new version: applying a file twice changes nothing.
    const latest = await this.workflows.find(tenantId, workflowId);
    if (latest && !latest.archivedAt && sameDefinition(latest.definition, valid)) return latest;
    const updated = await this.workflows.addVersion(
      tenantId,
      workflowId,
      valid.name,
      definition,
      triggersOf(valid),
    );
    if (updated) return updated;
    const current = await this.workflows.find(tenantId, workflowId);
    if (current?.archivedAt) {
      throw new DomainError('workflow_archived', `workflow ${workflowId} is archived`);
    }
    throw notFound(workflowId);
  }

  async get({ tenantId, workflowId, version }: GetWorkflow): Promise<WorkflowView> {
    const found = await this.workflows.find(tenantId, workflowId, version);
    if (!found) {
      throw version === undefined
        ? notFound(workflowId)
        : new DomainError(
            'workflow_version_not_found',
            `workflow ${workflowId} has no version ${version}`,
          );
    }
    return found;
  }

  async list({ tenantId, limit, cursor, name }: ListWorkflows): Promise<WorkflowPage> {
    const rows = await this.workflows.list(tenantId, limit + 1, decodeCursor(cursor), name);
    return page(rows, limit);
  }

  /** The active workflow a webhook delivery to `path` starts, and the secret it is signed with. */
  async resolveWebhook({ tenantId, path }: ResolveWebhook): Promise<ResolvedWebhook> {
    const hook = await this.workflows.findWebhook(tenantId, path);
    if (!hook) {
      throw new DomainError('webhook_not_found', `no active workflow has the webhook ${path}`);
    }
    return {
      schemaVersion: 1,
      workflowId: hook.workflowId,
      ...(hook.secret === undefined ? {} : { secret: hook.secret }),
    };
  }

  /** The schedules of the workflow's latest version: when they fire next, what they did. */
  async schedules({ tenantId, workflowId }: ListSchedules): Promise<ScheduleList> {
    if (!(await this.workflows.find(tenantId, workflowId))) throw notFound(workflowId);
    return { items: await this.triggers.schedulesOf(tenantId, workflowId) };
  }

  /** Every active event trigger, for the integration service's consumers. */
  async eventTriggers(): Promise<EventTriggerList> {
    return { items: await this.triggers.eventTriggers() };
  }

  async archive({ tenantId, workflowId }: ArchiveWorkflow): Promise<Done> {
    if (!(await this.workflows.archive(tenantId, workflowId))) throw notFound(workflowId);
    return { schemaVersion: 1 };
  }
}

function validOrThrow(definition: unknown): WorkflowDefinition {
  const result = validateDefinition(definition);
  if (result.ok) return result.definition;
  throw new DomainError(
    'workflow_definition_invalid',
    `the definition has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`,
    // Paths against the RPC request, whose `definition` field holds the document.
    result.problems.map((problem) => ({
      ...problem,
      path: problem.path.replace(/^\$/, '$.definition'),
    })),
  );
}

const notFound = (workflowId: string) =>
  new DomainError('workflow_not_found', `workflow ${workflowId} does not exist`);

function triggersOf({ triggers }: WorkflowDefinition): TriggersToSave {
  const saved: TriggersToSave = { webhooks: [], schedules: [], events: [], runTriggers: [] };
  triggers.forEach((trigger, index) => {
    if (trigger.type === 'webhook') {
      saved.webhooks.push({ path: trigger.path, secret: trigger.secret });
    } else if (trigger.type === 'schedule') {
      const { cron, timezone, overlap, catchUp, input } = trigger;
      saved.schedules.push({ index, cron, timezone, overlap, catchUp, input: input ?? {} });
    } else if (trigger.type === 'event') {
      const { credential, topic, filter, fromBeginning } = trigger;
      saved.events.push({ index, credential, topic, filter, fromBeginning });
    } else if (trigger.type === 'run') {
      saved.runTriggers.push({ index, workflow: trigger.workflow, statuses: trigger.statuses });
    }
  });
  return saved;
}

/**
 * Whether a stored definition means what `valid` means: both as the validator normalises them
 * (defaults applied), so key order, spacing and spelled-out defaults make no new version.
 */
function sameDefinition(stored: unknown, valid: WorkflowDefinition): boolean {
  const result = validateDefinition(stored);
  return result.ok && isDeepStrictEqual(result.definition, valid);
}
