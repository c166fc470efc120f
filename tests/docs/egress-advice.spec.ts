import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEgressAllow } from '@weft/egress';

const root = resolve(__dirname, '../..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
];

/** Every `WEFT_EGRESS_ALLOW=…` the documentation suggests, with the page it is on. */
const examples = pages.flatMap((page) =>
  [...readFileSync(join(root, page), 'utf8').matchAll(/WEFT_EGRESS_ALLOW=([^\s`'"]+)/g)].map(
    (match) => ({ page, value: match[1]! }),
  ),
);

// Opening a whole loopback address lets every step reach every local port (the database,
// Redis, the gateway's admin routes): the docs must only ever advise one port of it.
describe('the documentation’s WEFT_EGRESS_ALLOW advice', () => {
  it('is found in the README', () => {
    expect(examples.some((example) => example.page === 'README.md')).toBe(true);
  });

  it.each(examples.map((example) => [example.page, example.value]))(
    '%s: %s parses, each entry on one port only',
    (_page, value) => {
      const list = parseEgressAllow(value);
      expect(list.rules.map((rule, index) => [list.entries[index], rule.port])).toEqual(
        list.entries.map((entry): unknown[] => [entry, expect.any(Number)]),
      );
    },
  );
});
