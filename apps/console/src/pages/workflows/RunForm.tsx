import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { FieldProblem, WorkflowView } from '@weft/contracts';
import { useId, useMemo, useState, type FormEvent } from 'react';
import { useLocation } from 'wouter';
import { inputSchemaOf, startRun } from '../../api/workflows';
import { useApi } from '../../auth/session';
import { ErrorMessage } from '../../components/states';
import { inputChecker } from './input-check';

/**
 * Starts a run of the workflow's latest version (the API starts no other): the input as JSON,
 * checked against the version's `inputSchema` before it is sent, each problem at its path;
 * then the run's page. What the server refuses is shown with its detail and paths.
 */
export function RunForm({ workflow }: { workflow: WorkflowView }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const id = useId();
  const [text, setText] = useState('{}');
  /** Why the input was not sent, found in the browser. */
  const [refusal, setRefusal] = useState<{ why: string; problems: FieldProblem[] } | null>(null);
  const schema = inputSchemaOf(workflow.definition);
  const check = useMemo(() => inputChecker(schema), [schema]);

  const start = useMutation({
    mutationFn: (input: unknown) => startRun(api, workflow.id, input),
    onSuccess: async (run) => {
      await queryClient.invalidateQueries({ queryKey: ['runs', 'list'] });
      navigate(`/runs/${run.id}`);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    start.reset();
    let input: unknown = {};
    if (text.trim() !== '') {
      try {
        input = JSON.parse(text);
      } catch (error) {
        setRefusal({
          why: 'The input is not JSON; nothing was sent.',
          problems: [{ path: '$.input', message: (error as Error).message }],
        });
        return;
      }
    }
    const problems = check(input);
    if (problems.length > 0) {
      setRefusal({
        why: 'The input does not match the workflow’s input schema; nothing was sent.',
        problems,
      });
      return;
    }
    setRefusal(null);
    start.mutate(input);
  };

  const archived = workflow.archivedAt !== null;
  const errorsId = `${id}-errors`;
  return (
    <form className="card run-form" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Run</h2>
      <p className="muted small">Starts version {workflow.version}, the latest.</p>
      <label htmlFor={`${id}-input`}>Input</label>
      <textarea
        id={`${id}-input`}
        className="code-input"
        rows={6}
        spellCheck={false}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setRefusal(null);
        }}
        aria-invalid={refusal !== null || undefined}
        aria-describedby={refusal ? errorsId : undefined}
        disabled={archived}
      />
      {refusal && (
        <div className="error-message" role="alert" id={errorsId}>
          <span className="icon" aria-hidden="true">
            ⚠
          </span>
          <div>
            <p>{refusal.why}</p>
            <ul>
              {refusal.problems.map((problem) => (
                <li key={`${problem.path} ${problem.message}`}>
                  <code>{problem.path}</code>: {problem.message}
                </li>
              ))}
            </ul>
          </div>
        </div>
      )}
      {start.error && <ErrorMessage error={start.error} />}
      {schema && (
        <details>
          <summary>Input schema</summary>
          <pre className="code-block small" tabIndex={0}>
            {JSON.stringify(schema, null, 2)}
          </pre>
        </details>
      )}
      <div>
        <button
          type="submit"
          className="primary"
          disabled={archived || start.isPending || start.isSuccess}
        >
          {start.isPending || start.isSuccess ? 'Starting…' : 'Start run'}
        </button>
        {archived && <span className="muted small"> An archived workflow starts no runs.</span>}
      </div>
    </form>
  );
}
