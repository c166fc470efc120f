import { stripVTControlCharacters, styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

/**
 * Text in a colour or style, for standard output or standard error. Node's styleText leaves it
 * plain when the stream is no TTY, NO_COLOR is set or the terminal has no colours (FORCE_COLOR
 * forces them).
 */
export const paint = (style: Style, text: string, stream: NodeJS.WriteStream = process.stdout) =>
  styleText(style, text, { stream });

/** Columns padded to their widest cell (as shown: colour codes take no room); the last is not. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const shown = (cell: string) => stripVTControlCharacters(cell).length;
  const widths = header.map((_, column) => Math.max(...all.map((row) => shown(row[column] ?? ''))));
  return all
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - shown(cell)),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `850ms`, `4.2s`, `3m 05s`, `2h 01m`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** How long between two instants of the API (ISO strings); `now` when the second is missing. */
export function elapsed(from: string | null, to: string | null, now = Date.now()): string {
  if (!from) return '-';
  return duration((to ? Date.parse(to) : now) - Date.parse(from));
}

/** An instant as `2026-01-31 09:05:03` in local time, or `-`. */
export function when(instant: string | null): string {
  if (!instant) return '-';
  const date = new Date(instant);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
