import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type FormEvent } from 'react';
import {
  API_KEY_SCOPES,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiKeyCreatedView,
  type ApiKeyScope,
  type ApiKeyView,
} from '../../api/api-keys';
import type { ApiClient } from '../../api/client';
import { useApi, useSession } from '../../auth/session';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorMessage, ErrorState, Loading } from '../../components/states';
import { RelativeTime, useNow } from '../../components/time';

/**
 * The tenant's API keys that are not revoked: listed without the keys, created (the key is
 * answered once, so it is shown once, with a copy button), and revoked.
 */
export function ApiKeysPage() {
  const api = useApi();
  const { signOut } = useSession();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKeyCreatedView | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyView | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: ({ signal }) => listApiKeys(api, signal),
  });
  const current = signedInKey(api);
  const now = useNow(60_000);
  const isCurrent = (key: ApiKeyView) => current.startsWith(key.prefix);

  const revoke = useMutation({
    mutationFn: (key: ApiKeyView) => revokeApiKey(api, key.id),
    onSuccess: async (_, key) => {
      setRevoking(null);
      // This session's key no longer works: end the session rather than fail every call.
      if (isCurrent(key)) {
        signOut();
        return;
      }
      setNotice(`Revoked ${key.name}. Requests with it are refused from now on.`);
      await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });

  return (
    <>
      <PageHeader title="API keys">
        <button
          type="button"
          className="primary"
          onClick={() => {
            setNotice(null);
            setCreated(null);
            setCreating(true);
          }}
          disabled={creating}
        >
          New API key
        </button>
      </PageHeader>
      <p className="notice" role="status">
        {notice}
      </p>
      {created && <NewKey created={created} onDone={() => setCreated(null)} />}
      {creating && (
        <CreateKeyForm
          onCancel={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setCreated(key);
          }}
        />
      )}
      {keys.error && !keys.data ? (
        <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />
      ) : !keys.data ? (
        <Loading label="Loading API keys…" />
      ) : keys.data.items.length === 0 ? (
        <Empty title="No API keys.">Create one with “New API key”.</Empty>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="API keys">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.items.map((key) => (
                <tr key={key.id} data-api-key={key.name}>
                  <td className="wrap">
                    {key.name}
                    {isCurrent(key) && <span className="tag">this session</span>}
                  </td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{key.scopes.join(', ')}</td>
                  <td>
                    <RelativeTime at={key.createdAt} />
                  </td>
                  <td>
                    {key.expiresAt === null ? (
                      <span className="muted">never</span>
                    ) : (
                      <>
                        <RelativeTime at={key.expiresAt} />
                        {Date.parse(key.expiresAt) <= now && <span className="tag">expired</span>}
                      </>
                    )}
                  </td>
                  <td>
                    {key.lastUsedAt === null ? (
                      <span className="muted">never</span>
                    ) : (
                      <RelativeTime at={key.lastUsedAt} />
                    )}
                  </td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="danger"
                      onClick={() => {
                        revoke.reset();
                        setRevoking(key);
                      }}
                      aria-label={`Revoke ${key.name}`}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name ?? ''}?`}
        confirmLabel="Revoke"
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onCancel={() => setRevoking(null)}
      >
        <p>Every request with this key is refused from now on. This cannot be undone.</p>
        {revoking && isCurrent(revoking) && (
          <p className="warning" role="alert">
            <strong>This is the key you are signed in with.</strong> Revoking it signs you out; you
            will need another key with the <code>write</code> scope to sign in again, and nothing
            can make one for this tenant if it has none left.
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}

/**
 * The key this session signs in with, as its Authorization header carries it: compared by
 * prefix with the listed keys (the API answers no key twice, only each one's first characters).
 */
function signedInKey(api: ApiClient): string {
  return api.headers()['authorization']?.replace(/^Bearer /, '') ?? '';
}

function CreateKeyForm({
  onCreated,
  onCancel,
}: {
  onCreated: (key: ApiKeyCreatedView) => void;
  onCancel: () => void;
}) {
  const api = useApi();
  const queryClient = useQueryClient();
  const id = useId();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>(['write']);
  const [expires, setExpires] = useState('');
  const create = useMutation({
    mutationFn: () =>
      createApiKey(api, {
        name: name.trim(),
        scopes,
        // The picker's local date and time, as the instant it names.
        ...(expires && { expiresAt: new Date(expires).toISOString() }),
      }),
    onSuccess: async (key) => {
      await queryClient.invalidateQueries({ queryKey: ['api-keys'] });
      onCreated(key);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const toggle = (scope: ApiKeyScope, on: boolean) =>
    setScopes((list) => API_KEY_SCOPES.filter((s) => (s === scope ? on : list.includes(s))));

  return (
    <form className="card form-card" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>New API key</h2>
      <div className="field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input
          id={`${id}-name`}
          value={name}
          onChange={(event) => setName(event.target.value)}
          required
          maxLength={100}
          autoComplete="off"
          placeholder="ci-deploy"
          autoFocus
        />
      </div>
      <fieldset className="field">
        <legend>Scopes</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={scopes.includes('read')}
            onChange={(event) => toggle('read', event.target.checked)}
          />
          read <span className="muted small">— GET routes and event streams</span>
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={scopes.includes('write')}
            onChange={(event) => toggle('write', event.target.checked)}
          />
          write <span className="muted small">— everything the tenant can do</span>
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor={`${id}-expires`}>
          Expires <span className="muted">(optional; your local time)</span>
        </label>
        <input
          id={`${id}-expires`}
          type="datetime-local"
          value={expires}
          onChange={(event) => setExpires(event.target.value)}
        />
        <p className="muted small">Without an expiry the key works until it is revoked.</p>
      </div>
      {create.error && <ErrorMessage error={create.error} />}
      <div className="form-actions">
        <button
          type="submit"
          className="primary"
          disabled={create.isPending || scopes.length === 0 || !name.trim()}
        >
          {create.isPending ? 'Creating…' : 'Create key'}
        </button>
        <button type="button" onClick={onCancel} disabled={create.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The new key, this once: the API keeps only its digest. */
function NewKey({ created, onDone }: { created: ApiKeyCreatedView; onDone: () => void }) {
  const id = useId();
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied('yes');
    } catch {
      // No clipboard (an insecure origin, or refused): the key is selected to copy by hand.
      field.current?.select();
      setCopied('failed');
    }
  };
  return (
    <section className="card new-key" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>API key “{created.name}” created</h2>
      <p className="warning" role="alert">
        <strong>Copy it now: it is shown once.</strong> Weft keeps only its digest and cannot show
        it again; if it is lost, revoke it and create another.
      </p>
      <div className="copy-row">
        <label htmlFor={`${id}-key`} className="visually-hidden">
          New API key
        </label>
        <input
          id={`${id}-key`}
          ref={field}
          readOnly
          // Focus moves here from the form that is gone: the key, selected, ready to copy.
          autoFocus
          value={created.key}
          spellCheck={false}
          onFocus={(event) => event.target.select()}
        />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="small" role="status">
        {copied === 'yes' && 'Copied to the clipboard.'}
        {copied === 'failed' && 'The clipboard is not available: the key is selected, copy it.'}
      </p>
      <button type="button" onClick={onDone}>
        I have stored it
      </button>
    </section>
  );
}
