import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { CredentialType, CredentialView } from '@weft/contracts';
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { createCredential, replaceCredential } from '../../api/credentials';
import { ApiError } from '../../api/problem';
import { useApi } from '../../auth/session';
import { ErrorMessage } from '../../components/states';
import {
  CREDENTIAL_FIELDS,
  CREDENTIAL_NAME_PATTERN,
  CREDENTIAL_TYPES,
  dataOf,
  type CredentialField,
  type FieldValue,
} from './fields';

export type CredentialFormMode =
  { kind: 'create' } | { kind: 'replace'; name: string; type: CredentialType };

/**
 * Creates a credential, or replaces the data of one (rotation: its type stays). The data is
 * entered per field of its type, or as JSON; it is sent once and never shown again — the form
 * is gone once it is saved, and the API answers no data.
 */
export function CredentialForm({
  mode,
  onDone,
  onCancel,
}: {
  mode: CredentialFormMode;
  onDone: (saved: CredentialView) => void;
  onCancel: () => void;
}) {
  const api = useApi();
  const queryClient = useQueryClient();
  const id = useId();
  const [name, setName] = useState('');
  const [type, setType] = useState<CredentialType>(
    mode.kind === 'replace' ? mode.type : 'http.bearer',
  );
  const [values, setValues] = useState<Record<string, FieldValue>>({});
  const [asJson, setAsJson] = useState(false);
  const [json, setJson] = useState('');
  const [jsonError, setJsonError] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: (data: Record<string, unknown>) =>
      mode.kind === 'create'
        ? createCredential(api, { name: name.trim(), type, data })
        : replaceCredential(api, mode.name, data),
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ['credentials'] });
      onDone(saved);
    },
  });

  const switchToJson = (on: boolean) => {
    if (on) setJson(JSON.stringify(dataOf(type, values), null, 2));
    else {
      try {
        setValues(valuesOf(type, JSON.parse(json || '{}') as Record<string, unknown>));
      } catch {
        // Text that is not JSON has no fields to fill: they stay as they were.
      }
    }
    setJsonError(null);
    setAsJson(on);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.reset();
    if (!asJson) {
      save.mutate(dataOf(type, values));
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(json);
    } catch (error) {
      setJsonError(`The data is not JSON: ${(error as Error).message}`);
      return;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      setJsonError('The data must be a JSON object.');
      return;
    }
    setJsonError(null);
    save.mutate(data as Record<string, unknown>);
  };

  const problems = save.error instanceof ApiError ? (save.error.problem.errors ?? []) : [];
  const problemOf = (path: string) =>
    problems
      .filter(
        (p) => p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`),
      )
      .map((p) => p.message)
      .join('; ');
  const title = mode.kind === 'create' ? 'New credential' : `Replace the data of ${mode.name}`;

  return (
    <form className="card form-card" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {mode.kind === 'replace' && (
        <p className="muted small">
          Type <code>{mode.type}</code> stays. The new data replaces all of the old: give every
          field again. The next step that uses it gets the new data.
        </p>
      )}
      {mode.kind === 'create' && (
        <div className="form-row">
          <Field id={`${id}-name`} label="Name" error={problemOf('$.body.name')}>
            <input
              id={`${id}-name`}
              value={name}
              onChange={(event) => setName(event.target.value)}
              pattern={CREDENTIAL_NAME_PATTERN}
              required
              autoComplete="off"
              spellCheck={false}
              placeholder="crm-api"
              aria-describedby={describe(`${id}-name`, undefined, problemOf('$.body.name'))}
              aria-invalid={problemOf('$.body.name') ? true : undefined}
              autoFocus
            />
          </Field>
          <Field id={`${id}-type`} label="Type" error={problemOf('$.body.type')}>
            <select
              id={`${id}-type`}
              value={type}
              onChange={(event) => {
                setType(event.target.value as CredentialType);
                setValues({});
                setJson('');
              }}
            >
              {CREDENTIAL_TYPES.map((option) => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </select>
          </Field>
        </div>
      )}
      <fieldset className="data-fields">
        <legend>Data</legend>
        <div className="segmented" role="group" aria-label="Enter the data as">
          <button type="button" aria-pressed={!asJson} onClick={() => switchToJson(false)}>
            Fields
          </button>
          <button type="button" aria-pressed={asJson} onClick={() => switchToJson(true)}>
            JSON
          </button>
        </div>
        {asJson ? (
          <Field
            id={`${id}-json`}
            label="Data (JSON)"
            error={jsonError ?? problemOf('$.body.data')}
          >
            <textarea
              id={`${id}-json`}
              className="code-input"
              rows={8}
              spellCheck={false}
              autoComplete="off"
              value={json}
              onChange={(event) => setJson(event.target.value)}
              aria-describedby={describe(
                `${id}-json`,
                undefined,
                jsonError ?? problemOf('$.body.data'),
              )}
              aria-invalid={jsonError || problemOf('$.body.data') ? true : undefined}
            />
          </Field>
        ) : (
          CREDENTIAL_FIELDS[type].map((field, index) => {
            const key = field.path.join('.');
            return (
              <Field
                key={`${type} ${key}`}
                id={`${id}-${key}`}
                label={field.label}
                required={field.required ?? false}
                help={field.help}
                error={problemOf(`$.body.data.${key}`)}
              >
                <FieldInput
                  id={`${id}-${key}`}
                  field={field}
                  value={values[key]}
                  error={problemOf(`$.body.data.${key}`)}
                  // Replacing starts at the data: the form has no name or type to give.
                  autoFocus={mode.kind === 'replace' && index === 0}
                  onChange={(value) => setValues((current) => ({ ...current, [key]: value }))}
                />
              </Field>
            );
          })
        )}
      </fieldset>
      {save.error && <ErrorMessage error={save.error} />}
      <p className="muted small">
        Secrets are stored encrypted and never shown again, here or by the API.
      </p>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending
            ? 'Saving…'
            : mode.kind === 'create'
              ? 'Create credential'
              : 'Replace data'}
        </button>
        <button type="button" onClick={onCancel} disabled={save.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The ids of a control's help and error, for its aria-describedby. */
const describe = (id: string, help?: string, error?: string) =>
  [help && `${id}-help`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;

/** A label, the control, its help and the server's problem with it, tied by ids. */
function Field({
  id,
  label,
  required = false,
  help,
  error,
  children,
}: {
  id: string;
  label: string;
  required?: boolean;
  help?: string | undefined;
  error?: string | undefined;
  children: ReactNode;
}) {
  return (
    <div className={error ? 'field invalid' : 'field'}>
      <label htmlFor={id}>
        {label}
        {required && <span className="muted"> (required)</span>}
      </label>
      {children}
      {help && (
        <p className="muted small" id={`${id}-help`}>
          {help}
        </p>
      )}
      {error && (
        <p className="field-error small" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

function FieldInput({
  id,
  field,
  value,
  error,
  autoFocus,
  onChange,
}: {
  id: string;
  field: CredentialField;
  value: FieldValue | undefined;
  error: string;
  autoFocus: boolean;
  onChange: (value: FieldValue) => void;
}) {
  const describedBy = describe(id, field.help, error);
  const invalid = error ? true : undefined;
  const text = typeof value === 'string' ? value : '';
  switch (field.kind) {
    case 'boolean':
      return (
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(event) => onChange(event.target.checked)}
          aria-describedby={describedBy}
          aria-invalid={invalid}
          autoFocus={autoFocus}
        />
      );
    case 'select':
      return (
        <select
          id={id}
          value={text}
          onChange={(event) => onChange(event.target.value)}
          aria-describedby={describedBy}
          aria-invalid={invalid}
          autoFocus={autoFocus}
        >
          <option value="">None</option>
          {field.options?.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
    case 'list':
      return (
        <textarea
          id={id}
          rows={3}
          spellCheck={false}
          value={text}
          placeholder={field.placeholder}
          onChange={(event) => onChange(event.target.value)}
          aria-describedby={describedBy}
          aria-invalid={invalid}
          autoFocus={autoFocus}
        />
      );
    default:
      return (
        <input
          id={id}
          type={field.kind === 'secret' ? 'password' : field.kind === 'number' ? 'number' : 'text'}
          // Never offered from or saved to the browser's password manager.
          autoComplete={field.kind === 'secret' ? 'new-password' : 'off'}
          spellCheck={false}
          value={text}
          placeholder={field.placeholder}
          onChange={(event) => onChange(event.target.value)}
          aria-describedby={describedBy}
          aria-invalid={invalid}
          autoFocus={autoFocus}
        />
      );
  }
}

/** The form's values from data as JSON, for the fields of `type`; the rest is dropped. */
function valuesOf(type: CredentialType, data: Record<string, unknown>): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  for (const field of CREDENTIAL_FIELDS[type]) {
    let value: unknown = data;
    for (const key of field.path) {
      value =
        typeof value === 'object' && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
    if (value === undefined || value === null) continue;
    const key = field.path.join('.');
    if (field.kind === 'boolean') values[key] = value === true;
    else if (field.kind === 'list' && Array.isArray(value))
      values[key] = value.map(String).join('\n');
    else values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return values;
}
