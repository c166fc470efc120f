import { ApprovalLinks } from './approval-links';

describe('ApprovalLinks', () => {
  const key = Buffer.alloc(32, 7);
  const db = { query: async () => [{ secret: key }] };
  const link = {
    tenantId: '0193a0c4-0000-7000-8000-000000000001',
    runId: '0193a0c4-0000-7000-8000-000000000002',
    stepId: 'approve',
    attempt: 1,
    decision: 'approve' as const,
    expiresAt: new Date('2026-12-03T10:00:00Z'),
  };

  it('signs a link under the public URL and reads it back', async () => {
    const links = new ApprovalLinks(db as never, 'https://weft.example.com/');
    await links.load();
    const url = links.sign(link);
    expect(url).toMatch(/^https:\/\/weft\.example\.com\/v1\/approvals\/[\w-]+\.[\w-]+$/);
    expect(links.verify(url.split('/').at(-1)!)).toEqual(link);
  });

  it('refuses a token whose payload or signature was changed, or that another key signed', async () => {
    const links = new ApprovalLinks(db as never, 'http://127.0.0.1:3000');
    await links.load();
    const [payload, signature] = links.sign(link).split('/').at(-1)!.split('.');
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), d: 'reject' }),
    ).toString('base64url');
    expect(links.verify(`${other}.${signature}`)).toBeUndefined();
    expect(links.verify(`${payload}.${signature!.slice(0, -1)}x`)).toBeUndefined();
    expect(links.verify(`${payload}`)).toBeUndefined();
    const stranger = new ApprovalLinks(
      { query: async () => [{ secret: Buffer.alloc(32, 8) }] } as never,
      'http://127.0.0.1:3000',
    );
    await stranger.load();
    expect(stranger.verify(`${payload}.${signature}`)).toBeUndefined();
  });
});
