import { ExpressionError } from './expression-error';

/** A piece of a template string: literal text, or the JSONata source between `{{` and `}}`. */
export type TemplateSegment =
  { kind: 'text'; text: string } | { kind: 'expression'; source: string };

/**
 * Splits a string into text and `{{ … }}` expressions. The closing `}}` is found outside
 * JSONata string literals, comments and nested braces, so `{{ {'a': {'b': 1}} }}` is one
 * expression. Throws `ExpressionError` for a `{{` that is never closed.
 */
export function splitTemplate(text: string): TemplateSegment[] {
  const segments: TemplateSegment[] = [];
  let textStart = 0;
  let open = text.indexOf('{{');
  while (open !== -1) {
    const close = findClose(text, open + 2);
    if (close === -1) {
      throw new ExpressionError(
        `invalid expression: "{{" at position ${open} has no matching "}}"`,
        { code: 'syntax', expression: text.slice(open + 2), position: 0 },
      );
    }
    if (open > textStart) segments.push({ kind: 'text', text: text.slice(textStart, open) });
    segments.push({ kind: 'expression', source: text.slice(open + 2, close) });
    textStart = close + 2;
    open = text.indexOf('{{', textStart);
  }
  if (textStart < text.length) segments.push({ kind: 'text', text: text.slice(textStart) });
  return segments;
}

/** True for a string that is exactly one `{{ … }}`: its value is whatever the expression yields. */
export function isSingleExpression(value: unknown): value is string {
  if (typeof value !== 'string' || !value.startsWith('{{') || !value.endsWith('}}')) return false;
  try {
    const segments = splitTemplate(value);
    return segments.length === 1 && segments[0]?.kind === 'expression';
  } catch {
    return false;
  }
}

/** Index of the `}}` that closes an expression whose source starts at `from`, or -1. */
function findClose(text: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"' || ch === "'" || ch === '`') {
      i = skipQuoted(text, i);
      if (i === -1) return -1;
      continue;
    }
    if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return -1;
      i = end + 2;
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
    i++;
  }
  return -1;
}

/** Index just past the quoted literal starting at `start`, or -1 when it never ends. */
function skipQuoted(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    // Backtick names have no escapes in JSONata; string literals do.
    if (ch === '\\' && quote !== '`') i += 2;
    else if (ch === quote) return i + 1;
    else i++;
  }
  return -1;
}
