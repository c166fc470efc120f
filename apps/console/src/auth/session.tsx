import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { ApiClient } from '../api/client';
import { ApiError } from '../api/problem';

/**
 * The API key lives in sessionStorage: it survives a reload but not the tab, is never written
 * into a URL, and is sent only in the Authorization header.
 */
const STORAGE_KEY = 'weft.apiKey';

interface Session {
  api: ApiClient | null;
  signIn: (key: string) => void;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

function storedKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the key lasts as long as the page
  }
}

/** A refused request (4xx) is refused again: only failures of the server are retried, once. */
const retry = (failures: number, error: unknown) =>
  failures < 1 && !(error instanceof ApiError && error.status < 500);

/** The signed-in state, and the cache of API answers that belongs to it. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [key, setKey] = useState<string | null>(storedKey);
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: { queries: { retry, refetchOnWindowFocus: false, staleTime: 5_000 } },
      }),
  );
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setKey(null);
    // Nothing one tenant's key loaded is shown under the next one.
    queryClient.clear();
  }, [queryClient]);
  const signIn = useCallback((next: string) => {
    sessionStorage.setItem(STORAGE_KEY, next);
    setKey(next);
  }, []);
  const api = useMemo(() => (key ? new ApiClient(key, signOut) : null), [key, signOut]);
  const session = useMemo(() => ({ api, signIn, signOut }), [api, signIn, signOut]);
  return (
    <SessionContext.Provider value={session}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in API client; pages render only inside the signed-in layout. */
export function useApi(): ApiClient {
  const { api } = useSession();
  if (!api) throw new Error('useApi without a signed-in session');
  return api;
}
