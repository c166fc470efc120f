import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';

export const ApprovalLinkParams = z.strictObject({ token: z.string().min(1).max(2000) });
export type ApprovalLinkParams = z.infer<typeof ApprovalLinkParams>;

const tag = 'approvals';
const page = {
  contentType: 'text/html',
  body: named('ApprovalPage', z.string().describe('A minimal HTML page')),
};

export const approvalOperations: ApiOperation[] = [
  {
    method: 'GET',
    path: '/v1/approvals/{token}',
    operationId: 'openApprovalLink',
    summary:
      'An approval link (no API key): a page with the message and a button; opening it decides nothing',
    tag,
    security: 'none',
    params: ApprovalLinkParams,
    responses: { 200: { description: 'The confirmation page', ...page } },
    problems: [400, 404, 503],
  },
  {
    method: 'POST',
    path: '/v1/approvals/{token}',
    operationId: 'useApprovalLink',
    summary:
      'Decide with an approval link (no API key), once: the form’s fields (or a JSON object) become the step’s output',
    tag,
    security: 'none',
    params: ApprovalLinkParams,
    responses: { 200: { description: 'Decided', ...page } },
    problems: [400, 404, 409, 503],
  },
];
