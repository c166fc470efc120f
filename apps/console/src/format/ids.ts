/**
 * A run id short enough to read: its last 8 hex digits. Run ids are UUIDv7, whose first digits
 * are the creation time, the same for runs started together; the last ones are random.
 */
export const shortId = (id: string): string => id.replace(/-/g, '').slice(-8);
