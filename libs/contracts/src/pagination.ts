import { DomainError } from './errors';
import { z } from 'zod';

/**
 * Keyset cursors are the last id of a page, opaque to clients: the workflow service pages
 * workflows with them, the gateway runs (read from the workflow service's published functions).
 */
export const encodeCursor = (id: string): string => Buffer.from(id).toString('base64url');

/** `path`: where the cursor was in the request, for the problem that names it. */
export function decodeCursor(cursor: string | undefined, path = '$.cursor'): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!z.uuid().safeParse(id).success) {
    throw new DomainError('invalid_cursor', 'invalid cursor', [
      { path, message: 'is not a cursor this API returned' },
    ]);
  }
  return id;
}

/** Fetches one more than asked, so a page knows whether another follows. */
export function page<T extends { id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return {
    items,
    nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.id) : null,
  };
}
