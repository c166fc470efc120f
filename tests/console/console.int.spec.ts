import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort, startStandalone, stopStandalone } from '../support/standalone';

/**
 * The web console in a real Chromium (Debian's, which `tools/infra/infra.sh up` installs)
 * against the standalone app started here: sign in, watch runs and their steps change live,
 * retry a failed run, approve a waiting step — and no error in the page all along. Two
 * screenshots of it go to docs/images for the README.
 */

const CHROMIUM = process.env['WEFT_CHROMIUM'] ?? '/usr/bin/chromium';
const root = join(__dirname, '../..');
const consoleBuild = join(root, 'apps/console/dist/index.html');

/** Long enough for a step to go through the engine on a busy CI machine. */
const LIVE_TIMEOUT_MS = 20_000;
/** A scenario: a few live waits in a row. */
const SCENARIO_TIMEOUT_MS = 45_000;

/** Resolves once `check` holds, checking every 200 ms; throws after LIVE_TIMEOUT_MS. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not so after ${LIVE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The HTTP endpoints the workflows' steps call, with switches the test flips. */
class Target {
  /** /orders holds its answers until released, so the page sees the step running. */
  private release!: () => void;
  private released = new Promise<void>((resolve) => (this.release = resolve));
  private ordersCalls = 0;
  /** /inventory fails (503, retryable but retried no more) until set. */
  inventoryUp = false;
  readonly server: Server = createServer(
    (request, response) => void this.answer(request, response),
  );

  hold(): void {
    this.released = new Promise<void>((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release();
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    request.resume();
    if (request.url === '/orders') {
      // The first call of each run fails, so that the timeline shows a retry.
      if (this.ordersCalls++ % 2 === 0) return json(503, { error: 'warming up' });
      await this.released;
      return json(200, {
        orders: [
          { id: 1, region: 'emea', amount: 120 },
          { id: 2, region: 'amer', amount: 80 },
        ],
      });
    }
    if (request.url === '/inventory') {
      return this.inventoryUp ? json(200, { inStock: true }) : json(503, { error: 'down' });
    }
    if (request.url === '/reports') return json(201, { ok: true });
    json(404, { error: 'no such thing' });
  }
}

describe('the web console (Chromium, standalone app)', () => {
  jest.setTimeout(SCENARIO_TIMEOUT_MS);
  const dataDir = mkdtempSync(join(tmpdir(), 'weft-console-'));
  // Run as root, the embedded PostgreSQL runs as `postgres`, which must be able to enter it.
  chmodSync(dataDir, 0o755);
  const browserData = mkdtempSync(join(tmpdir(), 'weft-chromium-'));
  const adminKey = randomBytes(24).toString('base64url');
  const target = new Target();
  let app: ReturnType<typeof startStandalone>;
  let base: string;
  let apiKey: string;
  let context: BrowserContext;
  let page: Page;
  /** Everything that went wrong in the page: console errors, exceptions, failed requests. */
  const problems: string[] = [];
  /** 503 answers, printed at the end: the server was busy, not the page wrong. */
  const unavailable: string[] = [];
  const workflows: Record<string, string> = {};

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const startRun = async (workflow: string) =>
    (await api<{ id: string }>('POST', `/v1/workflows/${workflows[workflow]}/runs`, { input: {} }))
      .id;
  const runStatus = async (id: string) =>
    (await api<{ status: string }>('GET', `/v1/runs/${id}`)).status;
  /** A step's node in the graph, which names its status. */
  const step = (id: string, status?: string) =>
    page.getByRole('button', {
      name: status ? `Step ${id}: ${status}` : new RegExp(`^Step ${id}: `),
    });
  const runStatusShown = (status: string) =>
    page.getByRole('status', { name: `Run status: ${status}` });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: \`npm run infra:up\` installs Debian's chromium (as root), or set WEFT_CHROMIUM`,
      );
    }
    if (!existsSync(consoleBuild)) {
      throw new Error(`The console is not built (${consoleBuild}): run \`npm run build\` first`);
    }
    const targetPort = await freePort();
    await new Promise<void>((resolve) => target.server.listen(targetPort, '127.0.0.1', resolve));
    const port = await freePort();
    app = startStandalone({
      PORT: String(port),
      WEFT_DATA_DIR: dataDir,
      WEFT_EMBEDDED_PG_PORT: String(await freePort()),
      WEFT_ADMIN_KEY: adminKey,
      // The steps call the target here, on loopback, which the SSRF guard refuses otherwise.
      WEFT_EGRESS_ALLOW: `127.0.0.1:${targetPort}`,
    });
    await app.ready;
    base = `http://127.0.0.1:${port}`;

    const tenant = await fetch(`${base}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'console-test' }),
    });
    apiKey = ((await tenant.json()) as { apiKey: string }).apiKey;

    const url = (path: string) => `http://127.0.0.1:${targetPort}${path}`;
    const definitions = [
      {
        name: 'nightly-orders',
        steps: [
          {
            id: 'fetch_orders',
            type: 'http.request',
            with: { method: 'GET', url: url('/orders') },
            retry: { maxAttempts: 3, initialDelayMs: 200 },
          },
          {
            id: 'total',
            type: 'transform',
            needs: ['fetch_orders'],
            with: { value: '{{ $sum(steps.fetch_orders.output.body.orders.amount) }}' },
          },
          {
            id: 'regions',
            type: 'transform',
            needs: ['fetch_orders'],
            with: { value: '{{ steps.fetch_orders.output.body.orders.region }}' },
          },
          {
            id: 'publish',
            type: 'http.request',
            needs: ['total', 'regions'],
            with: {
              method: 'POST',
              url: url('/reports'),
              body: { total: '{{ steps.total.output }}', regions: '{{ steps.regions.output }}' },
            },
          },
        ],
      },
      {
        name: 'restock',
        steps: [
          {
            id: 'check_stock',
            type: 'http.request',
            with: { method: 'GET', url: url('/inventory') },
          },
          {
            id: 'record',
            type: 'transform',
            needs: ['check_stock'],
            with: { value: '{{ steps.check_stock.output.body }}' },
          },
        ],
      },
      { name: 'tick', steps: [{ id: 'tock', type: 'transform', with: { value: 1 } }] },
      {
        name: 'fan-out',
        steps: [
          {
            id: 'each_order',
            type: 'foreach',
            with: {
              items: [1, 2, 3],
              step: { type: 'transform', with: { value: '{{ item * 10 }}' } },
            },
          },
        ],
      },
      {
        name: 'refund',
        steps: [
          {
            id: 'manager_ok',
            type: 'approval',
            with: { timeoutMs: 600_000, message: 'Refund 120 EUR to order 1?' },
          },
          {
            id: 'pay_back',
            type: 'transform',
            needs: ['manager_ok'],
            with: { value: '{{ steps.manager_ok.output.decision }}' },
          },
        ],
      },
    ];
    for (const definition of definitions) {
      workflows[definition.name] = (
        await api<{ id: string }>('POST', '/v1/workflows', definition)
      ).id;
    }

    // A fresh profile of its own, so nothing of the machine's Chromium state leaks in.
    context = await chromium.launchPersistentContext(browserData, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 860 },
    });
    page = await context.newPage();
    // A 503 is the server asking to come back later (load shedding, a slow engine on a busy
    // machine; the page retries it): noted, but no defect of the page. Anything else is.
    page.on('console', (message) => {
      if (message.type() !== 'error' && message.type() !== 'warning') return;
      if (/^Failed to load resource: .* status of 503\b/.test(message.text())) return;
      problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // A page that is left cancels what it was loading and closes its event stream: those
      // aborts are the page's own doing, not failures.
      if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    page.on('response', (response) => {
      if (response.status() < 400) return;
      void response.text().then((body) => {
        const line = `HTTP ${response.status()}: ${response.url()} ${body}`;
        if (response.status() === 503) unavailable.push(line);
        else problems.push(line);
      });
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (app?.child.exitCode === null) await stopStandalone(app.child);
    await new Promise((resolve) => target.server.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(browserData, { recursive: true, force: true });
  });

  it('signs in with an API key, kept in the tab and never in the address', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/runs');
    expect(page.url()).not.toContain(apiKey);
    expect(await page.evaluate(() => sessionStorage.getItem('weft.apiKey'))).toBe(apiKey);
    await expect(page.getByRole('navigation', { name: 'Main' }).textContent()).resolves.toBe(
      'RunsWorkflowsCredentialsUsageAPI keys',
    );
  });

  it('shows new runs in the list as they start, and their statuses as they change', async () => {
    await page.getByText('Live', { exact: true }).waitFor();
    target.hold();
    const id = await startRun('nightly-orders');
    const row = page
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: `Run ${id}` }) });
    await row.waitFor({ timeout: LIVE_TIMEOUT_MS });
    await row.getByText('running').waitFor({ timeout: LIVE_TIMEOUT_MS });
    target.open();
    await row.getByText('succeeded').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await expect(row.getByRole('cell').nth(2).textContent()).resolves.toContain('nightly-orders');
  });

  it('draws a run’s steps and turns them green live, with a timeline of attempts', async () => {
    target.hold();
    const id = await startRun('nightly-orders');
    await page.getByRole('link', { name: `Run ${id}` }).click();
    await page.getByRole('heading', { name: /nightly-orders/ }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/runs/${id}`);
    // Held by the target: the first step is under way (again, after its first attempt's 503).
    await step('fetch_orders', 'running').or(step('fetch_orders', 'queued')).waitFor({
      timeout: LIVE_TIMEOUT_MS,
    });
    await step('publish', 'pending').waitFor();
    target.open();
    for (const stepId of ['fetch_orders', 'total', 'regions', 'publish']) {
      await step(stepId, 'succeeded').waitFor({ timeout: LIVE_TIMEOUT_MS });
    }
    await runStatusShown('succeeded').waitFor({ timeout: LIVE_TIMEOUT_MS });
    // The first attempt failed with the target's 503 and was retried.
    const timeline = page.getByRole('list', { name: 'Timeline of step attempts' });
    const bars = await timeline.textContent();
    expect(bars).toMatch(/attempt 1: [^,]+, retrying \(http_status\)/);
    expect(bars).toMatch(/attempt 2: [^,]+, succeeded/);
    // A step's details: its output.
    await step('total').click();
    await page.getByLabel('Output of total').filter({ hasText: /^200$/ }).waitFor();
    await page.getByText('Final', { exact: true }).waitFor();
    await page.screenshot({ path: join(root, 'docs/images/console-run.png'), fullPage: true });
  });

  it('opens a failed run and retries it until it succeeds', async () => {
    const id = await startRun('restock');
    await until(async () => (await runStatus(id)) === 'failed');
    await page.goto(`${base}/runs?status=failed`);
    await page.getByRole('link', { name: `Run ${id}` }).click();
    await page.getByText(/Step check_stock failed: http_status/).waitFor();
    // The failure cancelled what needed the step.
    await step('record', 'cancelled').waitFor();
    target.inventoryUp = true;
    await page.getByRole('button', { name: 'Retry run' }).click();
    await step('record', 'succeeded').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await runStatusShown('succeeded').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Retry run' }).waitFor({ state: 'detached' });
    // Read again from the start, the history goes on past the earlier failure.
    await page.reload();
    await page.getByText('Final', { exact: true }).waitFor({ timeout: LIVE_TIMEOUT_MS });
    const bars = await page.getByRole('list', { name: 'Timeline of step attempts' }).textContent();
    expect(bars).toMatch(/check_stock.*failed \(http_status\).*succeeded.*record.*succeeded/);
    await runStatusShown('succeeded').waitFor();
  });

  it('approves a waiting approval step', async () => {
    const id = await startRun('refund');
    await page.goto(`${base}/runs/${id}`);
    const approval = page.getByRole('region', { name: 'Approval manager_ok' });
    await approval.waitFor({ timeout: LIVE_TIMEOUT_MS });
    await approval.getByText('Refund 120 EUR to order 1?').waitFor();
    await approval.getByRole('button', { name: 'Approve' }).click();
    await step('pay_back', 'succeeded').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await approval.waitFor({ state: 'detached' });
    expect(await runStatus(id)).toBe('succeeded');
  });

  it('shows a foreach step’s item counts and its child runs as links', async () => {
    const id = await startRun('fan-out');
    await until(async () => (await runStatus(id)) === 'succeeded');
    await page.goto(`${base}/runs/${id}`);
    await step('each_order', 'succeeded').click();
    const items = page.getByRole('list', { name: 'Item counts' });
    await items.getByText('3 total').waitFor();
    await items.getByText('3 succeeded').waitFor();
    const children = page.getByRole('list', { name: 'Child runs' }).getByRole('link');
    await until(async () => (await children.count()) === 3);
    await children.first().click();
    await page.getByRole('link', { name: 'Parent run' }).waitFor();
    expect(new URL(page.url()).pathname).not.toBe(`/runs/${id}`);
  });

  it('cancels a run that is under way', async () => {
    target.hold();
    const id = await startRun('nightly-orders');
    await page.goto(`${base}/runs/${id}`);
    await runStatusShown('running').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await runStatusShown('cancelled').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await step('publish', 'cancelled').waitFor({ timeout: LIVE_TIMEOUT_MS });
    target.open();
    expect(await runStatus(id)).toBe('cancelled');
  });

  it('shows the runs list on a wide screen and on a phone without sideways scrolling', async () => {
    await page.goto(`${base}/runs`);
    await page.getByRole('link', { name: /^Run / }).first().waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    await page.screenshot({ path: join(root, 'docs/images/console-runs.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: /^Run / }).first().waitFor();
    const widths = await page.evaluate<{ scroll: number; client: number }>(
      '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
    );
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
  });

  it('pages through the runs, older and back to newer', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    for (let i = 0; i < 20; i++) await startRun('tick');
    const { items } = await api<{ items: unknown[] }>('GET', '/v1/runs?limit=100');
    expect(items.length).toBeGreaterThan(20);
    await page.goto(`${base}/runs`);
    const runLinks = page.getByRole('link', { name: /^Run / });
    await runLinks.nth(19).waitFor();
    await expect(runLinks.count()).resolves.toBe(20);
    const newest = await runLinks.first().getAttribute('aria-label');
    await page.getByRole('button', { name: 'Older →' }).click();
    await until(async () => (await runLinks.count()) === items.length - 20);
    await expect(page.getByRole('button', { name: 'Older →' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: '← Newer' }).click();
    await until(async () => (await runLinks.count()) === 20);
    await expect(runLinks.first().getAttribute('aria-label')).resolves.toBe(newest);
  });

  it('signs out, forgetting the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('weft.apiKey'))).toBeNull();
  });

  it('logged no console error, page error or failed request along the way', () => {
    if (unavailable.length > 0) console.warn(`answered 503 (retried):\n${unavailable.join('\n')}`);
    expect(problems).toEqual([]);
  });
});
