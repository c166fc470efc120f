import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, startStandalone, stopStandalone } from '../support/standalone';

/**
 * The console's Credentials, Workflows and API keys pages in a real Chromium (Debian's, which
 * `tools/infra/infra.sh up` installs) against the standalone app started here: create a
 * credential, start a run from a workflow's Run form (an input its schema refuses is not sent,
 * and says where it is wrong), create and revoke an API key — each checked through the API too,
 * and with no error in the page.
 */

const CHROMIUM = process.env['WEFT_CHROMIUM'] ?? '/usr/bin/chromium';
const root = join(__dirname, '../..');
const consoleBuild = join(root, 'apps/console/dist/index.html');

describe('the console’s credentials, workflow and API key pages (Chromium, standalone app)', () => {
  jest.setTimeout(30_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-console-pages-'));
  // Run as root, the embedded PostgreSQL runs as `postgres`, which must be able to enter it.
  chmodSync(dataDir, 0o755);
  const adminKey = randomBytes(24).toString('base64url');
  let app: ReturnType<typeof startStandalone>;
  let base: string;
  let apiKey: string;
  let tenantId: string;
  let workflowId: string;
  /** A target that never answers: a run calling it holds its tenant slot until cancelled. */
  let silent: Server;
  let browser: Browser;
  let page: Page;
  /** Everything that went wrong in the page: console errors, exceptions, failed requests. */
  const problems: string[] = [];

  const call = (path: string, init: RequestInit = {}, key = apiKey) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body !== undefined && { 'content-type': 'application/json' }),
      },
    });
  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await call(path, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const pageScrollsSideways = () =>
    page.evaluate<boolean>(
      'document.documentElement.scrollWidth > document.documentElement.clientWidth',
    );

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: \`npm run infra:up\` installs Debian's chromium (as root), or set WEFT_CHROMIUM`,
      );
    }
    if (!existsSync(consoleBuild)) {
      throw new Error(`The console is not built (${consoleBuild}): run \`npm run build\` first`);
    }
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    app = startStandalone({
      PORT: String(port),
      WEFT_DATA_DIR: dataDir,
      WEFT_EMBEDDED_PG_PORT: String(await freePort()),
      WEFT_ADMIN_KEY: adminKey,
      WEFT_EGRESS_ALLOW: `127.0.0.1:${(silent.address() as AddressInfo).port}`,
    });
    await app.ready;
    base = `http://127.0.0.1:${port}`;
    const tenant = await fetch(`${base}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'console-pages' }),
    });
    const created = (await tenant.json()) as { apiKey: string; tenant: { id: string } };
    apiKey = created.apiKey;
    tenantId = created.tenant.id;
    workflowId = (
      await api<{ id: string }>('/v1/workflows', {
        method: 'POST',
        body: JSON.stringify({
          name: 'greet',
          inputSchema: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string' },
              tags: { type: 'array', items: { type: 'string' } },
            },
          },
          steps: [{ id: 'hello', type: 'transform', with: { value: 'Hello {{ input.name }}' } }],
        }),
      })
    ).id;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        problems.push(`console ${message.type()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // Leaving a page cancels what it was loading: the page's own doing, not a failure.
      if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });

    await page.goto(`${base}/`);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (app?.child.exitCode === null) await stopStandalone(app.child);
    silent?.closeAllConnections();
    silent?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a credential from its type’s fields, and never shows its secret again', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Credentials' })
      .click();
    await page.getByText('No credentials yet.').waitFor();
    await page.getByRole('button', { name: 'New credential' }).click();
    await page.getByLabel('Name').fill('crm-api');
    await page.getByLabel('Type').selectOption('http.bearer');
    await page.getByLabel('Token').fill('tok-4f9a2c-secret');
    await page.getByLabel('Allowed hosts').fill('api.example.com\n*.example.org');
    await page.getByRole('button', { name: 'Create credential' }).click();
    await page.getByRole('status').filter({ hasText: 'Created crm-api (http.bearer)' }).waitFor();
    await page.getByRole('cell', { name: 'crm-api', exact: true }).waitFor();
    expect(await page.content()).not.toContain('tok-4f9a2c-secret');
    const { items } = await api<{ items: { name: string; type: string }[] }>('/v1/credentials');
    expect(items).toEqual([expect.objectContaining({ name: 'crm-api', type: 'http.bearer' })]);
  });

  it('refuses an input the workflow’s schema refuses, at its path, without sending it', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Workflows' })
      .click();
    await page.getByRole('link', { name: 'greet' }).click();
    const input = page.getByLabel('Input');
    await input.fill('{ "tags": ["ok", 7] }');
    await page.getByRole('button', { name: 'Start run' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'nothing was sent' });
    await refusal.waitFor();
    const text = await refusal.textContent();
    expect(text).toContain('$.input.name: is required');
    expect(text).toContain('$.input.tags[1]:');
    await expect(input.getAttribute('aria-invalid')).resolves.toBe('true');
    const runs = await api<{ items: unknown[] }>(`/v1/runs?workflowId=${workflowId}`);
    expect(runs.items).toEqual([]);
  });

  it('starts a run from the Run form and opens it', async () => {
    await page.getByLabel('Input').fill('{ "name": "Ada" }');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    const run = await api<{ workflowId: string; input: unknown }>(`/v1/runs/${id}`);
    expect(run).toEqual(expect.objectContaining({ workflowId, input: { name: 'Ada' } }));
  });

  it('creates an API key shown once, and revokes it after a confirmation', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'API keys' })
      .click();
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByLabel('Name').fill('ci-read');
    await page.getByLabel('read').check();
    await page.getByLabel('write').uncheck();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('it is shown once').waitFor();
    const key = await page.getByLabel('New API key').inputValue();
    expect((await call('/v1/runs?limit=1', {}, key)).status).toBe(200);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByLabel('New API key').waitFor({ state: 'detached' });

    // The key this session signs in with is flagged before it is revoked.
    await page.getByRole('button', { name: 'Revoke default' }).click();
    await page.getByRole('dialog').getByText('This is the key you are signed in with.').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });

    await page.getByRole('button', { name: 'Revoke ci-read' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByText('signed in with').count()).resolves.toBe(0);
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked ci-read' }).waitFor();
    // The list is read again after the revocation: the key's row goes when that answer comes.
    await page.getByRole('button', { name: 'Revoke ci-read' }).waitFor({ state: 'detached' });
    expect((await call('/v1/runs?limit=1', {}, key)).status).toBe(401);
  });

  it('says why a queued run has not started: it waits for a tenant slot', async () => {
    const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const limit = (concurrentRuns: number | null) =>
      fetch(`${base}/v1/tenants/${tenantId}`, {
        method: 'PATCH',
        headers: admin,
        body: JSON.stringify({ limits: { concurrentRuns } }),
      });
    expect((await limit(1)).status).toBe(200);
    const { port } = silent.address() as AddressInfo;
    const gated = await api<{ id: string }>('/v1/workflows', {
      method: 'POST',
      body: JSON.stringify({
        name: 'held',
        steps: [
          {
            id: 'call',
            type: 'http.request',
            timeoutMs: 120_000,
            with: { method: 'GET', url: `http://127.0.0.1:${port}/` },
          },
        ],
      }),
    });
    const start = () =>
      api<{ id: string }>(`/v1/workflows/${gated.id}/runs`, { method: 'POST', body: '{}' });
    const first = await start();
    const second = await start();
    try {
      await page.goto(`${base}/runs/${second.id}`);
      await page.getByText('waiting for a tenant slot').waitFor();
      await page.goto(`${base}/runs?status=queued`);
      await page
        .locator(`tr[data-run-id="${second.id}"] [data-waiting-for="concurrentRuns"]`)
        .waitFor();
    } finally {
      for (const run of [second, first]) {
        await api(`/v1/runs/${run.id}/cancel`, { method: 'POST', body: '{}' });
      }
      await limit(null);
    }
  });

  it('fits a phone: no page scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, ready] of [
      [`/workflows/${workflowId}`, page.getByRole('button', { name: 'Start run' })],
      ['/workflows', page.getByRole('link', { name: 'greet' })],
      ['/credentials', page.getByRole('button', { name: 'Delete crm-api' })],
      ['/usage', page.getByRole('heading', { name: 'Monthly budget' })],
      ['/api-keys', page.getByRole('button', { name: 'Revoke default' })],
    ] as const) {
      await page.goto(`${base}${path}`);
      await ready.waitFor();
      if (await pageScrollsSideways()) throw new Error(`${path} scrolls sideways at 390 px`);
    }
  });

  it('logged no console error, page error or failed request along the way', () => {
    expect(problems).toEqual([]);
  });
});
