import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { CONSOLE_CSP } from './console';

/** Not about shedding: a loop slowed by parallel suites must not turn answers into 503s. */
const loadShedding = { maxEventLoopDelayMs: 0 };

/** A console build as Vite lays it out: the page, hashed assets, a top-level public file. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Weft</title>');
  writeFileSync(join(dir, 'assets/index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe('the web console at /', () => {
  let dir: string;
  let gateway: TestGateway;
  beforeAll(async () => {
    dir = fakeBuild();
    gateway = await startTestGateway({ consoleDir: dir, loadShedding });
  });
  afterAll(async () => {
    await gateway.app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (url: string) => gateway.app.inject({ method: 'GET', url });

  it('answers the page at / and at the router’s paths, revalidated, under a strict CSP', async () => {
    for (const url of ['/', '/runs', '/runs/0b6a6c2e-0000-4000-8000-000000000000', '/x?y=1']) {
      const response = await get(url);
      expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toContain('<title>Weft</title>');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toBe(CONSOLE_CSP);
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('serves hashed assets for a year and top-level files revalidated', async () => {
    const asset = await get('/assets/index-AbC123.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await get('/favicon.svg');
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('answers 404 problems for missing files and API paths, never the page', async () => {
    for (const url of [
      '/assets/gone-123.js',
      '/gone.css',
      '/v1/nothing',
      '/v1',
      '/v1?x=1',
      '/health/x',
    ]) {
      const response = await get(url);
      expect({ url, status: response.statusCode }).toEqual({ url, status: 404 });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('leaves the API and the probes as they were', async () => {
    expect((await get('/health')).statusCode).toBe(200);
    const runs = await get('/v1/runs');
    expect(runs.statusCode).toBe(401);
    expect(runs.headers['content-security-policy']).toBeUndefined();
  });
});

describe('the web console when it is not built', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      consoleDir: join(tmpdir(), 'weft-no-console-here'),
      loadShedding,
    });
  });
  afterAll(() => gateway.app.close());

  it('answers / and its paths with a 404 problem that says how to build it', async () => {
    for (const url of ['/', '/runs', '/assets/index-AbC123.js']) {
      const response = await gateway.app.inject({ method: 'GET', url });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 404 });
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 404, detail: /npm run build/ });
    }
    const health = await gateway.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });
});
