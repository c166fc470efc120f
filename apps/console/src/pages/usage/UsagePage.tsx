import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { UsageReport } from '@weft/contracts';
import { useId, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'wouter';
import { listWorkflows } from '../../api/runs';
import { getUsage, putBudget, utcMonthOf } from '../../api/usage';
import { useApi } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorMessage, ErrorState, Loading } from '../../components/states';
import { useNow } from '../../components/time';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const count = new Intl.NumberFormat();
const monthFormat = new Intl.DateTimeFormat(undefined, {
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

/** `2026-12` as "December 2026", in the browser's language. */
const monthName = (month: string) => monthFormat.format(new Date(`${month}-01T00:00:00Z`));

/**
 * Tokens of AI calls by UTC month (`?month=`, the current one by default), by model and by
 * workflow, and the tenant's monthly budget against the current month.
 */
export function UsagePage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const thisMonth = utcMonthOf(new Date(useNow(60_000)));
  const asked = params.get('month') ?? '';
  const month = MONTH.test(asked) ? asked : thisMonth;
  const usage = useQuery({
    queryKey: ['usage', month],
    queryFn: ({ signal }) => getUsage(api, month, signal),
    placeholderData: keepPreviousData,
  });

  const pickMonth = (value: string) => {
    const next = new URLSearchParams(params);
    if (value && value !== thisMonth) next.set('month', value);
    else next.delete('month');
    setParams(next);
  };

  return (
    <>
      <PageHeader title="Usage">
        <div className="inline-field">
          <label htmlFor="usage-month">Month (UTC)</label>
          <input
            id="usage-month"
            type="month"
            value={month}
            max={thisMonth}
            onChange={(event) => pickMonth(event.target.value)}
          />
        </div>
      </PageHeader>
      <Budget month={thisMonth} />
      {usage.error && !usage.data ? (
        <ErrorState error={usage.error} onRetry={() => void usage.refetch()} />
      ) : !usage.data ? (
        <Loading label="Loading usage…" />
      ) : (
        <MonthReport report={usage.data} current={month === thisMonth} />
      )}
    </>
  );
}

function MonthReport({ report, current }: { report: UsageReport; current: boolean }) {
  const api = useApi();
  // Names for the workflow ids: one list call (the newest 100 active workflows).
  const workflows = useQuery({
    queryKey: ['workflows', 'list'],
    queryFn: ({ signal }) => listWorkflows(api, signal),
    enabled: report.byWorkflow.length > 0,
  });
  const names = new Map((workflows.data?.items ?? []).map((w) => [w.id, w.name]));
  return (
    <>
      <section className="card" aria-labelledby="month-title">
        <h2 id="month-title">{monthName(report.month)}</h2>
        <dl className="stats">
          <div>
            <dt>Tokens</dt>
            <dd>{count.format(report.tokens)}</dd>
          </div>
          <div>
            <dt>Calls</dt>
            <dd>{count.format(report.byModel.reduce((sum, row) => sum + row.calls, 0))}</dd>
          </div>
          {current && (
            <div>
              <dt>Held by calls in flight</dt>
              <dd>{count.format(report.reservedTokens)}</dd>
            </div>
          )}
        </dl>
      </section>
      {report.byModel.length === 0 ? (
        <Empty title={`No AI calls in ${report.month}.`}>
          The <code>ai.chat</code> and <code>ai.extract</code> steps book their tokens here.
        </Empty>
      ) : (
        <>
          <section className="card" aria-labelledby="by-model-title">
            <h2 id="by-model-title">By model</h2>
            <div className="table-scroll" tabIndex={0} role="region" aria-label="By model">
              <table className="data">
                <thead>
                  <tr>
                    <th scope="col">Provider</th>
                    <th scope="col">Model</th>
                    <th scope="col" className="num">
                      Calls
                    </th>
                    <th scope="col" className="num">
                      Input
                    </th>
                    <th scope="col" className="num">
                      Output
                    </th>
                    <th scope="col" className="num">
                      Total
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {report.byModel.map((row) => (
                    <tr key={`${row.provider} ${row.model}`}>
                      <td>{row.provider}</td>
                      <td className="wrap">
                        <code>{row.model}</code>
                      </td>
                      <Tokens row={row} />
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section className="card" aria-labelledby="by-workflow-title">
            <h2 id="by-workflow-title">By workflow</h2>
            <div className="table-scroll" tabIndex={0} role="region" aria-label="By workflow">
              <table className="data">
                <thead>
                  <tr>
                    <th scope="col">Workflow</th>
                    <th scope="col" className="num">
                      Calls
                    </th>
                    <th scope="col" className="num">
                      Input
                    </th>
                    <th scope="col" className="num">
                      Output
                    </th>
                    <th scope="col" className="num">
                      Total
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {report.byWorkflow.map((row) => (
                    <tr key={row.workflowId ?? 'none'}>
                      <td className="wrap">
                        {row.workflowId === null ? (
                          <span className="muted">not recorded (older calls)</span>
                        ) : (
                          <Link href={`/workflows/${row.workflowId}`}>
                            {names.get(row.workflowId) ?? <code>{row.workflowId.slice(0, 8)}</code>}
                          </Link>
                        )}
                      </td>
                      <Tokens row={row} />
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </>
  );
}

function Tokens({ row }: { row: { calls: number; inputTokens: number; outputTokens: number } }) {
  return (
    <>
      <td className="num">{count.format(row.calls)}</td>
      <td className="num">{count.format(row.inputTokens)}</td>
      <td className="num">{count.format(row.outputTokens)}</td>
      <td className="num">{count.format(row.inputTokens + row.outputTokens)}</td>
    </>
  );
}

/** The budget in force against the current month, and the form that sets or removes it. */
function Budget({ month }: { month: string }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const id = useId();
  const usage = useQuery({
    queryKey: ['usage', month],
    queryFn: ({ signal }) => getUsage(api, month, signal),
  });
  const [draft, setDraft] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (monthlyTokens: number | null) => putBudget(api, { monthlyTokens }),
    onSuccess: async () => {
      setDraft(null);
      await queryClient.invalidateQueries({ queryKey: ['usage'] });
    },
  });

  if (usage.error && !usage.data) return null; // the month's report shows the error
  if (!usage.data) return null;
  const { monthlyTokens, tokens, reservedTokens, remainingTokens } = usage.data;
  const spent = tokens + reservedTokens;
  const value = draft ?? (monthlyTokens === null ? '' : String(monthlyTokens));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(value.trim() === '' ? null : Number(value));
  };

  return (
    <section className="card budget" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Monthly budget</h2>
      {monthlyTokens === null ? (
        <p className="muted">No budget: AI calls are not limited.</p>
      ) : (
        <>
          <p>
            {count.format(spent)} of {count.format(monthlyTokens)} tokens used in {monthName(month)}
            {reservedTokens > 0 &&
              ` (${count.format(reservedTokens)} held by calls in flight)`};{' '}
            {count.format(remainingTokens ?? 0)} left.
          </p>
          <meter
            className="budget-meter"
            min={0}
            max={Math.max(monthlyTokens, 1)}
            low={monthlyTokens * 0.8}
            high={monthlyTokens * 0.95}
            optimum={0}
            value={Math.min(spent, monthlyTokens)}
            aria-label="Budget used"
          >
            {monthlyTokens === 0 ? '100' : Math.round((spent / monthlyTokens) * 100)}%
          </meter>
        </>
      )}
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor={`${id}-tokens`}>Tokens a month</label>
        <input
          id={`${id}-tokens`}
          type="number"
          min={0}
          step={1}
          inputMode="numeric"
          value={value}
          placeholder="No budget"
          onChange={(event) => setDraft(event.target.value)}
        />
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Set budget'}
        </button>
        {monthlyTokens !== null && (
          <button type="button" disabled={save.isPending} onClick={() => save.mutate(null)}>
            Remove budget
          </button>
        )}
      </form>
      <p className="muted small">
        Input and output tokens together. A call that could pass the budget fails its step with{' '}
        <code>budget_exceeded</code> before it is sent.
      </p>
      {save.error && <ErrorMessage error={save.error} />}
    </section>
  );
}
