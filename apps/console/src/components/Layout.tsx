import type { ReactNode } from 'react';

import { Link, useLocation } from 'wouter';
import { useSession } from '../auth/session';
import { routes } from '../routes';

/** The frame of every signed-in page: the header with the navigation, then the page. */
export function Layout({ children }: { children: ReactNode }) {
  const { signOut } = useSession();
  const [location] = useLocation();
  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          <span className="logo" aria-hidden="true" />
          Weft
        </Link>
        <nav aria-label="Main">
          <ul>
            {routes
              .filter((route) => route.nav)
              .map((route) => {
                const current = location === route.path || location.startsWith(`${route.path}/`);
                return (
                  <li key={route.path}>
                    <Link href={route.path} aria-current={current ? 'page' : undefined}>
                      {route.nav}
                    </Link>
                  </li>
                );
              })}
          </ul>
        </nav>
        <button type="button" className="quiet sign-out" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" className="page">
        {children}
      </main>
    </div>
  );
}
