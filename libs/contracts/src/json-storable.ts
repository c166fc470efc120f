import { formatJsonPath, type PathSegment } from './json-path';

/**
 * Deepest nesting of arrays and objects a stored value may have. PostgreSQL's jsonb accepts
 * more, but every reader (JSON.parse, zod, the console) recurses, and no workflow needs it.
 */
export const MAX_JSON_DEPTH = 64;

/** Why a value cannot be stored as jsonb, and where in it. */
export interface JsonStorageProblem {
  /** `$.items[3].name` */
  readonly path: string;
  readonly message: string;
}

/**
 * The first reason `value` cannot be stored in a jsonb column, or undefined: a string or key
 * holding U+0000 (jsonb and text refuse it, and one such value used to fail a whole batch of
 * other tenants' runs) or nesting deeper than `maxDepth`. Iterative, so a hostile value nested
 * 100,000 deep cannot overflow the stack.
 */
export function jsonStorageProblem(
  value: unknown,
  maxDepth: number = MAX_JSON_DEPTH,
): JsonStorageProblem | undefined {
  const pending: { value: unknown; path: readonly PathSegment[] }[] = [{ value, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, path } = next;
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return nulAt(path);
    } else if (typeof item === 'object' && item !== null) {
      if (path.length >= maxDepth) {
        return {
          path: formatJsonPath(path),
          message: `nests deeper than ${maxDepth} levels of arrays and objects`,
        };
      }
      if (Array.isArray(item)) {
        for (let i = item.length - 1; i >= 0; i--)
          pending.push({ value: item[i], path: [...path, i] });
      } else {
        for (const [key, child] of Object.entries(item)) {
          if (key.includes('\u0000')) return nulAt([...path, key]);
          pending.push({ value: child, path: [...path, key] });
        }
      }
    }
  }
  return undefined;
}

const nulAt = (path: readonly PathSegment[]): JsonStorageProblem => ({
  path: formatJsonPath(path),
  message: 'contains the character U+0000, which cannot be stored',
});

/** Free text (an error message from a worker or a target) made storable: U+0000 → U+FFFD. */
export const storableText = (text: string): string => text.replaceAll('\u0000', '\uFFFD');
