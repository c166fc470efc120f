import { PROBE_STEP_TYPE } from '@weft/contracts';
import type { StepConnector } from '@weft/messaging';

/** Answers a probe's hop, proving the task queue and the result topic of this service. */
export const probeConnector: StepConnector = {
  type: PROBE_STEP_TYPE,
  run: async (task) => ({ service: 'ai', receivedInput: task.input }),
};
