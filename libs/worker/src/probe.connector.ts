import { PROBE_STEP_TYPE } from '@weft/contracts';
import { defineStep } from '@weft/definitions';
import { z } from 'zod';
import { defineConnector } from './define-connector';

/**
 * Answers a probe's hop, proving a worker service's task queue and the result topic. A probe
 * is not a step users write, so its type is not in the step catalogue.
 */
export function probeConnector(service: 'integration' | 'ai') {
  const step = defineStep({
    type: PROBE_STEP_TYPE,
    runsOn: service,
    with: z.record(z.string(), z.unknown()),
    output: z.object({ service: z.string(), receivedInput: z.unknown() }),
    errors: [],
  });
  return defineConnector(step, async (input) => ({ service, receivedInput: input }));
}
