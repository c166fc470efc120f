import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const SKIPPED = new Set(['node_modules', 'dist', '.git', '.nx', '.cache', 'results']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIPPED.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** Relative targets of Markdown links: `[text](target)`, without anchors. */
const linksOf = (text: string): string[] =>
  [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!.split('#')[0]!)
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));

describe('documentation', () => {
  const files = markdownFiles(root);

  it('is found', () => {
    expect(files.map((file) => relative(root, file))).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/reference/definitions.md',
        'docs/reference/api.md',
      ]),
    );
  });

  it.each(files.map((file) => [relative(root, file), file]))(
    '%s links only to files inside the repository',
    (_name, file) => {
      const text = readFileSync(file, 'utf8');
      // Nor by name to the notes the project was started from, which a clone does not have.
      expect(text).not.toMatch(/\.\.\/shared\b/);
      const outside = linksOf(text).filter((target) =>
        relative(root, resolve(dirname(file), target)).startsWith('..'),
      );
      expect(outside).toEqual([]);
    },
  );
});
