import { z } from 'zod';

/** The tenant of the platform's own traffic, such as probes; no API key belongs to it. */
export const SYSTEM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

/**
 * A probe crosses every path of the platform once: gateway → workflow by RPC, workflow →
 * integration and ai by task queue, workers → workflow through Kafka. Operators use it to
 * check a deployment end to end; the stack tests use it to prove the wiring.
 */
export const StartProbe = z.object({ schemaVersion: z.literal(1) });
export type StartProbe = z.infer<typeof StartProbe>;

export const ProbeStarted = z.object({ schemaVersion: z.literal(1), probeId: z.uuid() });
export type ProbeStarted = z.infer<typeof ProbeStarted>;

export const GetProbe = z.object({ schemaVersion: z.literal(1), probeId: z.uuid() });
export type GetProbe = z.infer<typeof GetProbe>;

export const ProbeHop = z.object({
  service: z.string(),
  stepId: z.string(),
  finishedAt: z.iso.datetime(),
});
export type ProbeHop = z.infer<typeof ProbeHop>;

export const ProbeView = z.object({
  schemaVersion: z.literal(1),
  probeId: z.uuid(),
  status: z.enum(['pending', 'completed']),
  startedAt: z.iso.datetime(),
  completedAt: z.iso.datetime().nullable(),
  hops: z.array(ProbeHop),
});
export type ProbeView = z.infer<typeof ProbeView>;

/** The step type workers answer for a probe; no user workflow can name it. */
export const PROBE_STEP_TYPE = 'system.probe';
