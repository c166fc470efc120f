import { z } from 'zod';

/** A lifecycle event of a run, published by the engine on every transition. */
export const RunEvent = z.object({
  schemaVersion: z.literal(1),
  runId: z.uuid(),
  type: z.string().min(1),
  at: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
});
export type RunEvent = z.infer<typeof RunEvent>;
