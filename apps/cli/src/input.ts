import { readFileSync } from 'node:fs';

/**
 * A run's input from `--input`: JSON text, or `@file.json` for a file's content (`@-` reads
 * standard input). No `--input` is no input (the API then uses `{}`).
 */
export function parseInput(
  value: string | undefined,
  read = (path: string) => readFileSync(path, 'utf8'),
): unknown {
  if (value === undefined) return undefined;
  const fromFile = value.startsWith('@');
  const source = fromFile ? value.slice(1) : undefined;
  if (source === '') throw new Error('--input @ needs a file name: --input @input.json');
  let text: string;
  try {
    text = source === undefined ? value : read(source === '-' ? '/dev/stdin' : source);
  } catch (error) {
    throw new Error(`--input ${value}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const what = source === undefined ? '--input' : `--input ${value}`;
    throw new Error(`${what} is not JSON: ${(error as Error).message}`);
  }
}
