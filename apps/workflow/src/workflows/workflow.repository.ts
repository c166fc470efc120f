import { preparedQuery } from '@weft/persistence';
import { DomainError, type FieldProblem, type RunStatus, type WorkflowView } from '@weft/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import type {
  SavedEventTrigger,
  SavedRunTrigger,
  SavedSchedule,
  TriggerRepository,
} from '../triggers/trigger.repository';

/** A webhook trigger as stored: its path and the hmac credential it is signed with. */
export interface Webhook {
  path: string;
  secret?: string;
}

/** The triggers a save writes beside the version; run triggers name their source as written. */
export interface TriggersToSave {
  webhooks: Webhook[];
  schedules: SavedSchedule[];
  events: SavedEventTrigger[];
  runTriggers: { index: number; workflow: string; statuses: RunStatus[] }[];
}

interface WorkflowRow {
  id: string;
  name: string;
  version: number;
  definition: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

// The latest version shows the workflow's name (a migration may have renamed a duplicate);
// older versions the name they were saved with.
const SELECT_VIEW = `
  SELECT w.id,
         CASE WHEN v.version = w.latest_version THEN w.name ELSE v.definition ->> 'name' END AS name,
         v.version, v.definition, w.created_at,
         v.created_at AS updated_at, w.archived_at
    FROM workflow.workflows w
    JOIN workflow.workflow_versions v ON v.workflow_id = w.id`;

/** SQL of workflows and their immutable versions; every method is scoped by tenant. */
export class WorkflowRepository {
  constructor(
    private readonly db: DataSource,
    private readonly triggers: TriggerRepository,
  ) {}

  async create(
    tenantId: string,
    id: string,
    name: string,
    definition: unknown,
    triggers: TriggersToSave,
  ): Promise<WorkflowView> {
    return this.db.transaction(async (tx) => {
      await nameTakenAs(
        name,
        tx.query(
          'INSERT INTO workflow.workflows (id, tenant_id, name, latest_version) VALUES ($1, $2, $3, 1)',
          [id, tenantId, name],
        ),
      );
      await tx.query(
        'INSERT INTO workflow.workflow_versions (workflow_id, version, definition) VALUES ($1, 1, $2)',
        [id, JSON.stringify(definition)],
      );
      await this.saveTriggers(tx, tenantId, id, 1, triggers);
      return (await this.find(tenantId, id, undefined, tx))!;
    });
  }

  /**
   * Makes `triggers` the workflow's, at `version`, in the save's transaction: from its commit
   * on, only this version fires.
   */
  private async saveTriggers(
    tx: EntityManager,
    tenantId: string,
    workflowId: string,
    version: number,
    triggers: TriggersToSave,
  ): Promise<void> {
    await this.claimWebhookPaths(tx, tenantId, workflowId, triggers.webhooks);
    await this.triggers.replaceSchedules(
      tx,
      tenantId,
      workflowId,
      version,
      triggers.schedules,
      new Date(),
    );
    await this.triggers.replaceEventTriggers(tx, tenantId, workflowId, version, triggers.events);
    const runTriggers: SavedRunTrigger[] = [];
    const problems: FieldProblem[] = [];
    for (const { index, workflow, statuses } of triggers.runTriggers) {
      const found = await this.findActive(tenantId, workflow, tx);
      const path = `$.definition.triggers[${index}].workflow`;
      if (!found) {
        problems.push({ path, message: `no active workflow of this tenant is ${workflow}` });
      } else if (found.id === workflowId) {
        problems.push({ path, message: 'a workflow cannot be started by its own runs' });
      } else {
        // A name is kept as a name: it follows whichever active workflow bears it when a run ends.
        const source =
          found.id === workflow ? { sourceWorkflowId: found.id } : { sourceName: workflow };
        runTriggers.push({ index, ...source, statuses });
      }
    }
    if (problems.length > 0) {
      throw new DomainError(
        'workflow_definition_invalid',
        'a run trigger names no workflow',
        problems,
      );
    }
    await this.triggers.replaceRunTriggers(tx, tenantId, workflowId, version, runTriggers);
  }

  /**
   * Makes `webhooks` the workflow's webhooks, in the save's transaction. Another active
   * workflow of the tenant holding one of their paths is a conflict, and the save is rolled
   * back.
   */
  private async claimWebhookPaths(
    tx: EntityManager,
    tenantId: string,
    workflowId: string,
    webhooks: readonly Webhook[],
  ): Promise<void> {
    await tx.query('DELETE FROM workflow.webhooks WHERE workflow_id = $1', [workflowId]);
    if (webhooks.length === 0) return;
    const paths = webhooks.map((hook) => hook.path);
    const taken: { path: string }[] = await tx.query(
      `SELECT path FROM workflow.webhooks WHERE tenant_id = $1 AND path = ANY($2::text[])
        ORDER BY path LIMIT 1`,
      [tenantId, paths],
    );
    if (taken[0]) throw pathTaken(taken[0].path);
    try {
      await tx.query(
        `INSERT INTO workflow.webhooks (tenant_id, path, workflow_id, secret)
         SELECT $1, path, $3, secret FROM unnest($2::text[], $4::text[]) AS h(path, secret)`,
        [tenantId, paths, workflowId, webhooks.map((hook) => hook.secret ?? null)],
      );
    } catch (error) {
      // Two saves racing for one path: the primary key decides.
      if ((error as { code?: string }).code === '23505') throw pathTaken(paths.join(', '));
      throw error;
    }
  }

  /** The active workflow whose webhook has `path`, with that webhook's secret. */
  async findWebhook(
    tenantId: string,
    path: string,
  ): Promise<{ workflowId: string; secret: string | undefined } | undefined> {
    const rows: { workflow_id: string; secret: string | null }[] = await this.db.query(
      `SELECT h.workflow_id, h.secret FROM workflow.webhooks h
         JOIN workflow.workflows w ON w.id = h.workflow_id AND w.archived_at IS NULL
        WHERE h.tenant_id = $1 AND h.path = $2`,
      [tenantId, path],
    );
    const row = rows[0];
    return row && { workflowId: row.workflow_id, secret: row.secret ?? undefined };
  }

  /** Adds version n+1; undefined when the workflow is not the tenant's or is archived. */
  async addVersion(
    tenantId: string,
    id: string,
    name: string,
    definition: unknown,
    triggers: TriggersToSave,
  ): Promise<WorkflowView | undefined> {
    return this.db.transaction(async (tx) => {
      const [rows] = await nameTakenAs(
        name,
        tx.query<[{ latest_version: number }[], number]>(
          `UPDATE workflow.workflows
              SET latest_version = latest_version + 1, name = $3, updated_at = now()
            WHERE id = $1 AND tenant_id = $2 AND archived_at IS NULL
            RETURNING latest_version`,
          [id, tenantId, name],
        ),
      );
      const version = rows[0]?.latest_version;
      if (version === undefined) return undefined;
      await tx.query(
        'INSERT INTO workflow.workflow_versions (workflow_id, version, definition) VALUES ($1, $2, $3)',
        [id, version, JSON.stringify(definition)],
      );
      await this.saveTriggers(tx, tenantId, id, version, triggers);
      return this.find(tenantId, id, version, tx);
    });
  }

  async find(
    tenantId: string,
    id: string,
    version?: number,
    db: DataSource | EntityManager = this.db,
  ): Promise<WorkflowView | undefined> {
    const rows: WorkflowRow[] = await db.query(
      `${SELECT_VIEW}
        WHERE w.id = $1 AND w.tenant_id = $2 AND v.version = COALESCE($3, w.latest_version)`,
      [id, tenantId, version ?? null],
    );
    return rows[0] && toView(rows[0]);
  }

  /**
   * What starting a run needs of a workflow: its latest version number and whether it is
   * archived. The definition itself comes compiled from the catalog (versions never change), so
   * a trigger reads one narrow row instead of the whole definition.
   */
  async head(
    tenantId: string,
    id: string,
  ): Promise<{ version: number; archived: boolean } | undefined> {
    const rows: { latest_version: number; archived: boolean }[] = await preparedQuery(
      this.db,
      `SELECT latest_version, archived_at IS NOT NULL AS archived FROM workflow.workflows
        WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    return rows[0] && { version: rows[0].latest_version, archived: rows[0].archived };
  }

  /**
   * The tenant's active workflow that `ref` names, by id or by its (unique) name, with its
   * latest version; an id wins over a workflow named like it.
   */
  async findActive(
    tenantId: string,
    ref: string,
    sql: DataSource | EntityManager = this.db,
  ): Promise<{ id: string; version: number } | undefined> {
    const rows: { id: string; latest_version: number }[] = await sql.query(
      `SELECT id, latest_version FROM workflow.workflows
        WHERE tenant_id = $1 AND archived_at IS NULL AND (id::text = $2 OR name = $2)
        ORDER BY (id::text = $2) DESC LIMIT 1`,
      [tenantId, ref],
    );
    const [row] = rows;
    return row && { id: row.id, version: row.latest_version };
  }

  /** Active workflows, newest first; `after` is the last id of the previous page. */
  async list(
    tenantId: string,
    limit: number,
    after?: string,
    name?: string,
  ): Promise<WorkflowView[]> {
    const rows: WorkflowRow[] = await this.db.query(
      `${SELECT_VIEW} AND v.version = w.latest_version
        WHERE w.tenant_id = $1 AND w.archived_at IS NULL AND ($2::uuid IS NULL OR w.id < $2)
          AND ($4::text IS NULL OR w.name = $4)
        ORDER BY w.id DESC
        LIMIT $3`,
      [tenantId, after ?? null, limit, name ?? null],
    );
    return rows.map(toView);
  }

  /** Archives the workflow: its webhook paths are freed and its triggers fire no more. */
  async archive(tenantId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [, count] = await tx.query<[unknown[], number]>(
        `UPDATE workflow.workflows SET archived_at = COALESCE(archived_at, now())
          WHERE id = $1 AND tenant_id = $2`,
        [id, tenantId],
      );
      if (count > 0) {
        await tx.query('DELETE FROM workflow.webhooks WHERE workflow_id = $1', [id]);
        await this.triggers.removeAll(tx, id);
      }
      return count > 0;
    });
  }

  /** The definition of one version, for the engine; versions never change once written. */
  async definitionOf(
    workflowId: string,
    version: number,
    sql: DataSource | EntityManager = this.db,
  ): Promise<unknown> {
    const rows: { definition: unknown }[] = await sql.query(
      'SELECT definition FROM workflow.workflow_versions WHERE workflow_id = $1 AND version = $2',
      [workflowId, version],
    );
    return rows[0]?.definition;
  }
}

function toView(row: WorkflowRow): WorkflowView {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    definition: row.definition,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    archivedAt: row.archived_at?.toISOString() ?? null,
  };
}

const pathTaken = (path: string) =>
  new DomainError(
    'webhook_path_taken',
    `webhook path ${path} belongs to another active workflow of this tenant`,
  );

/** A unique violation of the active-name index, as the conflict it is. */
async function nameTakenAs<T>(name: string, query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (code === '23505' && constraint === 'workflows_active_name') {
      throw new DomainError(
        'workflow_name_taken',
        `another active workflow is named ${JSON.stringify(name)}; archive it or choose another name`,
      );
    }
    throw error;
  }
}
