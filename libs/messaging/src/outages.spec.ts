import { DomainError, IntegrationRpc } from '@weft/contracts';
import { InProcessBus } from './in-process';
import { answerOutagesAsUnavailable } from './outages';
import { JsonLogger } from '@weft/runtime';

describe('answerOutagesAsUnavailable', () => {
  it('answers an outage as unavailable and leaves other errors and answers alone', async () => {
    const bus = new InProcessBus(new JsonLogger('test', 'error', () => undefined));
    const outage = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await bus.serve(
      IntegrationRpc,
      answerOutagesAsUnavailable(
        {
          'credentials.list': async () => {
            throw outage;
          },
          'credentials.delete': async () => {
            throw new DomainError('credential_not_found', 'no such credential');
          },
          'credentials.update': async () => {
            throw new DomainError('credential_not_found', 'no such credential');
          },
          'credentials.create': async () => {
            throw new Error('a bug');
          },
          'credentials.resolve': async () => ({ items: [] }),
          'webhooks.verify': async () => ({ ok: true }),
        },
        (error) => error === outage,
      ),
    );
    const tenant = { schemaVersion: 1 as const, tenantId: '01a20800-0000-7000-8000-000000000000' };
    const codeOf = (call: Promise<unknown>) =>
      call.then(
        () => 'answered',
        (error: DomainError) => error.code,
      );
    expect(await codeOf(bus.call(IntegrationRpc, 'credentials.list', tenant))).toBe('unavailable');
    expect(
      await codeOf(bus.call(IntegrationRpc, 'credentials.delete', { ...tenant, name: 'x' })),
    ).toBe('credential_not_found');
    expect(
      await codeOf(
        bus.call(IntegrationRpc, 'credentials.create', {
          ...tenant,
          name: 'x',
          type: 'http.bearer',
          data: { token: 't' },
        }),
      ),
    ).toBe('internal');
    expect(
      await bus.call(IntegrationRpc, 'credentials.resolve', { ...tenant, names: ['x'] }),
    ).toEqual({ items: [] });
    await bus.close();
  });
});
