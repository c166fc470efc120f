import { ProbeStarted, ProbeView } from '@weft/contracts';
import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';

export const ProbeParams = z.strictObject({ id: z.uuid() });
export type ProbeParams = z.infer<typeof ProbeParams>;

const tag = 'operations';

export const probeOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/admin/probes',
    operationId: 'startProbe',
    summary: 'Send a probe across every service',
    tag,
    security: 'adminKey',
    responses: { 202: { description: 'Started', body: named('ProbeStarted', ProbeStarted) } },
    problems: [503],
  },
  {
    method: 'GET',
    path: '/v1/admin/probes/{id}',
    operationId: 'getProbe',
    summary: 'Read which services a probe has crossed',
    tag,
    security: 'adminKey',
    params: ProbeParams,
    responses: { 200: { description: 'The probe', body: named('Probe', ProbeView) } },
    problems: [400, 404, 503],
  },
];
