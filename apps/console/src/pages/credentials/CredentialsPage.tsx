import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CredentialView } from '@weft/contracts';
import { useState } from 'react';
import { deleteCredential, listCredentials } from '../../api/credentials';
import { useApi } from '../../auth/session';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorState, Loading } from '../../components/states';
import { RelativeTime } from '../../components/time';
import { CredentialForm, type CredentialFormMode } from './CredentialForm';

/**
 * The tenant's credentials: names and types only (no route answers their data), created,
 * replaced (rotation) and deleted here.
 */
export function CredentialsPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<CredentialFormMode | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<CredentialView | null>(null);
  const credentials = useQuery({
    queryKey: ['credentials'],
    queryFn: ({ signal }) => listCredentials(api, signal),
  });
  const remove = useMutation({
    mutationFn: (name: string) => deleteCredential(api, name),
    onSuccess: async (_, name) => {
      await queryClient.invalidateQueries({ queryKey: ['credentials'] });
      setDeleting(null);
      setNotice(`Deleted ${name}. Steps that name it now fail with credential_not_found.`);
    },
  });

  const open = (mode: CredentialFormMode) => {
    setNotice(null);
    setForm(mode);
  };

  return (
    <>
      <PageHeader title="Credentials">
        <button
          type="button"
          className="primary"
          onClick={() => open({ kind: 'create' })}
          disabled={form?.kind === 'create'}
        >
          New credential
        </button>
      </PageHeader>
      <p className="notice" role="status">
        {notice}
      </p>
      {form && (
        <CredentialForm
          key={form.kind === 'create' ? 'create' : `replace ${form.name}`}
          mode={form}
          onCancel={() => setForm(null)}
          onDone={(saved) => {
            setForm(null);
            setNotice(
              form.kind === 'create'
                ? `Created ${saved.name} (${saved.type}). Its data is stored encrypted and is not shown again.`
                : `Replaced the data of ${saved.name}. The next step that uses it gets the new data.`,
            );
          }}
        />
      )}
      {credentials.error && !credentials.data ? (
        <ErrorState error={credentials.error} onRetry={() => void credentials.refetch()} />
      ) : !credentials.data ? (
        <Loading label="Loading credentials…" />
      ) : credentials.data.items.length === 0 ? (
        <Empty title="No credentials yet.">
          Steps name credentials for the secrets they send (API tokens, database URLs, SMTP logins).
          Create one with “New credential”.
        </Empty>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Credentials">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Created</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {credentials.data.items.map((credential) => (
                <tr key={credential.name} data-credential={credential.name}>
                  <td className="wrap">
                    <code>{credential.name}</code>
                  </td>
                  <td>
                    <code>{credential.type}</code>
                  </td>
                  <td>
                    <RelativeTime at={credential.createdAt} />
                  </td>
                  <td>
                    {credential.updatedAt === credential.createdAt ? (
                      <span className="muted">never replaced</span>
                    ) : (
                      <RelativeTime at={credential.updatedAt} />
                    )}
                  </td>
                  <td className="row-actions">
                    <button
                      type="button"
                      onClick={() =>
                        open({ kind: 'replace', name: credential.name, type: credential.type })
                      }
                      aria-label={`Replace ${credential.name}`}
                    >
                      Replace
                    </button>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => {
                        remove.reset();
                        setDeleting(credential);
                      }}
                      aria-label={`Delete ${credential.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? ''}?`}
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting.name)}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Steps and triggers that name <code>{deleting?.name}</code> fail until a credential of that
          name exists again. Its data cannot be recovered.
        </p>
      </ConfirmDialog>
    </>
  );
}
