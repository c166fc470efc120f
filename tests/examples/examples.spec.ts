import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateDefinition } from '@weft/definitions';

const dir = join(__dirname, '../../examples');
const examples = readdirSync(dir).filter((file) => file.endsWith('.json'));

describe('examples/', () => {
  it('has the examples the README names', () => {
    expect(examples.sort()).toEqual([
      'archive-order.json',
      'enrich-rows.json',
      'extract-invoice.json',
      'kafka-orders.json',
      'notify-child.json',
      'notify-parent.json',
      'order-routing.json',
      'publish-order.json',
      'refund-approval.json',
      'signed-webhook.json',
      'summarise-page.json',
      'uptime-check.json',
      'weekday-report.json',
    ]);
  });

  it.each(examples)('%s is a valid definition', (file) => {
    const result = validateDefinition(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});
