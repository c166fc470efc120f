import type { ComponentType } from 'react';
import { ApiKeysPage } from './pages/api-keys/ApiKeysPage';
import { CredentialsPage } from './pages/credentials/CredentialsPage';
import { RunPage } from './pages/run/RunPage';
import { RunsPage } from './pages/runs/RunsPage';
import { UsagePage } from './pages/usage/UsagePage';
import { WorkflowPage } from './pages/workflows/WorkflowPage';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage';

/**
 * The console's pages. Each lives in its own folder under pages/; adding one is a line here
 * (and a `nav` label if it belongs in the navigation). Paths are wouter patterns; the gateway
 * answers any path outside the API with index.html, so each is also a deep link.
 */
export interface ConsoleRoute {
  path: string;
  component: ComponentType;
  /** The navigation entry, in this order; routes without one are reached by links. */
  nav?: string;
}

export const routes: ConsoleRoute[] = [
  { path: '/runs', component: RunsPage, nav: 'Runs' },
  { path: '/runs/:id', component: RunPage },
  { path: '/workflows', component: WorkflowsPage, nav: 'Workflows' },
  { path: '/workflows/:id', component: WorkflowPage },
  { path: '/credentials', component: CredentialsPage, nav: 'Credentials' },
  { path: '/usage', component: UsagePage, nav: 'Usage' },
  { path: '/api-keys', component: ApiKeysPage, nav: 'API keys' },
];

/** Where `/` leads. */
export const HOME = '/runs';
