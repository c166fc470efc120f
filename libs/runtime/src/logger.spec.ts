import { JsonLogger } from './logger';

describe('JsonLogger', () => {
  const capture = (level: 'debug' | 'info' = 'info') => {
    const lines: string[] = [];
    return { lines, logger: new JsonLogger('gateway', level, (line) => lines.push(line)) };
  };

  it('writes one JSON object per line with service and fields', () => {
    const { lines, logger } = capture();
    logger.event('info', 'run queued', { runId: 'r1' });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'info',
      service: 'gateway',
      msg: 'run queued',
      runId: 'r1',
    });
  });

  it('drops entries below its level and demotes framework chatter to debug', () => {
    const { lines, logger } = capture('info');
    logger.debug('details');
    logger.log('Mapped {/health, GET} route', 'RouterExplorer');
    logger.log('gateway ready', 'Bootstrap');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['gateway ready']);
  });

  it('serialises errors with their message and stack', () => {
    const { lines, logger } = capture();
    logger.error(new Error('boom'));
    const entry = JSON.parse(lines[0] as string);
    expect(entry.err).toMatchObject({ name: 'Error', message: 'boom' });
    expect(entry.err.stack).toContain('boom');
  });
});
