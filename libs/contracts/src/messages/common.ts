import { z } from 'zod';

/** Every request on behalf of a tenant names it; handlers scope every query by it. */
export const TenantScoped = z.object({ schemaVersion: z.literal(1), tenantId: z.uuid() });

/** Page size of list requests. */
export const Limit = z.int().min(1).max(100);

/** An opaque keyset cursor, handed back as `nextCursor`. */
export const Cursor = z.string().min(1).max(200);

/** Problems of a request at the JSON path of each field (`$.steps[2].needs[0]`). */
export const FieldProblem = z.object({ path: z.string(), message: z.string() });
export type FieldProblem = z.infer<typeof FieldProblem>;
