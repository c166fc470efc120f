import { useState, type FormEvent } from 'react';
import { ApiClient } from '../api/client';
import { ApiError } from '../api/problem';
import { ErrorMessage } from '../components/states';
import { useSession } from './session';

/** Asks for an API key and checks it with one cheap call before keeping it. */
export function SignIn() {
  const { signIn } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [checking, setChecking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return;
    setChecking(true);
    setError(null);
    try {
      await new ApiClient(candidate).get('/v1/runs', { query: { limit: 1 } });
      signIn(candidate);
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? new Error('That API key was not accepted. Check it, or ask for a new one.')
          : caught,
      );
      setChecking(false);
    }
  };

  return (
    <main className="sign-in">
      <form className="card sign-in-card" onSubmit={(event) => void submit(event)}>
        <h1>
          <span className="logo" aria-hidden="true" /> Weft
        </h1>
        <p className="muted">Sign in with an API key of your tenant.</p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          placeholder="wk_…"
          required
        />
        {error !== null && <ErrorMessage error={error} />}
        <button type="submit" className="primary" disabled={checking || !key.trim()}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
        <p className="muted small">
          The key is kept in this tab only (session storage) and sent in the Authorization header.
        </p>
      </form>
    </main>
  );
}
