import {
  decodeCursor,
  DomainError,
  page,
  RUN_EVENTS_PAGE_MAX,
  runNotFound,
  type RunEventPage,
  type RunPage,
  type RunStatus,
  type RunSummary,
  type RunView,
} from '@weft/contracts';

/** What the reads are sent on: a TypeORM DataSource (the gateway's own, or the replica's). */
export interface Sql {
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

/** `GET /v1/runs`'s filters and page. */
export interface RunListQuery {
  workflowId?: string | undefined;
  parentRunId?: string | undefined;
  status?: RunStatus | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * Runs as the API shows them: one run, a page of runs, a page of a run's stored events. Each
 * throws `run_not_found` for a run that is not the tenant's. An abstract class, so that it is
 * its own injection token; SqlRunReads is the gateway's, tests give a fake.
 */
export abstract class RunReads {
  abstract run(tenantId: string, runId: string): Promise<RunView>;
  abstract list(tenantId: string, query: RunListQuery): Promise<RunPage>;
  /** Up to RUN_EVENTS_PAGE_MAX events after `afterSeq`. */
  abstract events(tenantId: string, runId: string, afterSeq: number): Promise<RunEventPage>;
}

/**
 * The reads from PostgreSQL, through the functions the workflow service publishes as its read
 * contract (`workflow.read_run_v1` …, ADR 0021) rather than by an RPC to it. Each read is one
 * statement with its parameters (an unnamed prepared statement; the functions' plans are cached
 * per server connection), so it works through PgBouncer in transaction mode. A run by id and
 * its events are read on the primary, so a client reads the run it was just answered (202);
 * lists on the replica when there is one (`DATABASE_READ_URL`), which may lag.
 */
export class SqlRunReads extends RunReads {
  constructor(
    private readonly primary: Sql,
    private readonly replica: Sql = primary,
  ) {
    super();
  }

  async run(tenantId: string, runId: string): Promise<RunView> {
    const [row] = await read<{ run: RunView | null }>(
      this.primary,
      'SELECT workflow.read_run_v1($1, $2) AS run',
      [tenantId, runId],
    );
    if (!row?.run) throw runNotFound(runId);
    return row.run;
  }

  async list(tenantId: string, query: RunListQuery): Promise<RunPage> {
    const after = decodeCursor(query.cursor, '$.query.cursor');
    const [row] = await read<{ runs: RunSummary[] }>(
      this.replica,
      'SELECT workflow.list_runs_v1($1, $2, $3, $4, $5, $6) AS runs',
      [
        tenantId,
        query.workflowId ?? null,
        query.parentRunId ?? null,
        query.status ?? null,
        after ?? null,
        query.limit + 1,
      ],
    );
    return page(row!.runs, query.limit);
  }

  async events(tenantId: string, runId: string, afterSeq: number): Promise<RunEventPage> {
    const [row] = await read<{ page: RunEventPage | null }>(
      this.primary,
      'SELECT workflow.run_events_v1($1, $2, $3, $4) AS page',
      [tenantId, runId, afterSeq, RUN_EVENTS_PAGE_MAX],
    );
    if (!row?.page) throw runNotFound(runId);
    return row.page;
  }
}

/**
 * Runs a read; a function or schema that does not exist yet (the workflow service of this
 * release has not migrated: ADR 0021, rolling upgrades) is answered 503, not 500.
 */
async function read<T>(sql: Sql, text: string, parameters: unknown[]): Promise<T[]> {
  try {
    return await sql.query<T[]>(text, parameters);
  } catch (error) {
    // TypeORM's QueryFailedError carries the server's SQLSTATE as `code`.
    const code = (error as { code?: unknown }).code;
    if (code === '42883' || code === '3F000') {
      throw new DomainError(
        'unavailable',
        'run reads are not available yet: the workflow schema of this release is not migrated',
      );
    }
    throw error;
  }
}
