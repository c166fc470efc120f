import { z } from 'zod';
import { Cursor, Limit, TenantScoped } from './common';

/** A workflow at one version. `definition` is validated by the engine, not by this schema. */
export const WorkflowView = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.int().min(1),
  definition: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  archivedAt: z.iso.datetime().nullable(),
});
export type WorkflowView = z.infer<typeof WorkflowView>;

export const WorkflowPage = z.object({
  items: z.array(WorkflowView),
  nextCursor: Cursor.nullable(),
});
export type WorkflowPage = z.infer<typeof WorkflowPage>;

export const CreateWorkflow = TenantScoped.extend({ definition: z.unknown() });
export type CreateWorkflow = z.infer<typeof CreateWorkflow>;

export const UpdateWorkflow = TenantScoped.extend({
  workflowId: z.uuid(),
  definition: z.unknown(),
});
export type UpdateWorkflow = z.infer<typeof UpdateWorkflow>;

/** The latest version, or `version` when given. */
export const GetWorkflow = TenantScoped.extend({
  workflowId: z.uuid(),
  version: z.int().min(1).optional(),
});
export type GetWorkflow = z.infer<typeof GetWorkflow>;

export const ListWorkflows = TenantScoped.extend({
  limit: Limit,
  cursor: Cursor.optional(),
  /** Only the active workflow of this name (names are unique among active workflows). */
  name: z.string().min(1).max(200).optional(),
});
export type ListWorkflows = z.infer<typeof ListWorkflows>;

export const ArchiveWorkflow = TenantScoped.extend({ workflowId: z.uuid() });
export type ArchiveWorkflow = z.infer<typeof ArchiveWorkflow>;

export const Done = z.object({ schemaVersion: z.literal(1) });
export type Done = z.infer<typeof Done>;

/** The active workflow whose webhook trigger has `path`, for the gateway's hook endpoint. */
export const ResolveWebhook = TenantScoped.extend({ path: z.string().min(1).max(200) });
export type ResolveWebhook = z.infer<typeof ResolveWebhook>;

export const ResolvedWebhook = z.object({
  schemaVersion: z.literal(1),
  workflowId: z.uuid(),
  /** The `hmac` credential deliveries are signed with; absent for `auth: "none"`. */
  secret: z.string().optional(),
});
export type ResolvedWebhook = z.infer<typeof ResolvedWebhook>;

/** The schedule triggers of a workflow's latest version, with when they fire and fired. */
export const ListSchedules = TenantScoped.extend({ workflowId: z.uuid() });
export type ListSchedules = z.infer<typeof ListSchedules>;

export const ScheduleView = z.object({
  /** The trigger's position in the definition's `triggers`. */
  index: z.int().min(0),
  version: z.int().min(1),
  cron: z.string(),
  timezone: z.string(),
  overlap: z.enum(['skip', 'allow']),
  catchUp: z.enum(['latest', 'none']),
  nextSlots: z.array(z.iso.datetime()),
  lastFiredAt: z.iso.datetime().nullable(),
  lastSlot: z.iso.datetime().nullable(),
  lastRunId: z.uuid().nullable(),
  /** Slots that started a run. */
  fired: z.int().min(0),
  /** Slots passed over because the previous run was still active (`overlap: skip`). */
  skipped: z.int().min(0),
  /** Slots the engine reached too late (it was down); `catchUp` decided them. */
  missed: z.int().min(0),
  /** Fired slots that fired more than a second after their time. */
  late: z.int().min(0),
});
export type ScheduleView = z.infer<typeof ScheduleView>;

export const ScheduleList = z.object({ items: z.array(ScheduleView) });
export type ScheduleList = z.infer<typeof ScheduleList>;

/** Every active Kafka event trigger, for the consumers that follow them (internal). */
export const ListEventTriggers = z.object({ schemaVersion: z.literal(1) });
export type ListEventTriggers = z.infer<typeof ListEventTriggers>;

export const EventTriggerView = z.object({
  tenantId: z.uuid(),
  workflowId: z.uuid(),
  index: z.int().min(0),
  version: z.int().min(1),
  /** The tenant's `kafka` credential naming the cluster. */
  credential: z.string(),
  topic: z.string(),
  filter: z.string().nullable(),
  fromBeginning: z.boolean(),
  /** When this credential and topic were first saved here: the consumer starts from then. */
  savedAt: z.iso.datetime(),
});
export type EventTriggerView = z.infer<typeof EventTriggerView>;

export const EventTriggerList = z.object({ items: z.array(EventTriggerView) });
export type EventTriggerList = z.infer<typeof EventTriggerList>;
