import { Redirect, Route, Switch } from 'wouter';
import { SignIn } from './auth/SignIn';
import { SessionProvider, useSession } from './auth/session';
import { Layout } from './components/Layout';
import { NotFoundPage } from './pages/not-found/NotFoundPage';
import { HOME, routes } from './routes';

function Pages() {
  const { api } = useSession();
  if (!api) return <SignIn />;
  return (
    <Layout>
      <Switch>
        <Route path="/">
          <Redirect to={HOME} replace />
        </Route>
        {routes.map((route) => (
          <Route key={route.path} path={route.path} component={route.component} />
        ))}
        <Route component={NotFoundPage} />
      </Switch>
    </Layout>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Pages />
    </SessionProvider>
  );
}
