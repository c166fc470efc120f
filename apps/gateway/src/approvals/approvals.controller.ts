import { Controller, Get, Header, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { WorkflowRpc, type ApprovalLinkView } from '@weft/contracts';
import { RPC_TRANSPORT, type RpcClient } from '@weft/messaging';
import type { FastifyRequest } from 'fastify';
import { ZodPipe } from '../http/request-validation';
import { RPC_TIMEOUT_MS } from '../tokens';
import { ApprovalLinkParams } from './approval.api';

/** Where approval links are opened; the raw-body parser accepts form posts here. */
export const APPROVALS_PREFIX = '/v1/approvals/';

/**
 * Signed approval links (`approveUrl`, `rejectUrl` of a waiting approval step), used without an
 * API key: the workflow service checks the signature, which is the credential. `GET` only shows
 * a page with a button, so a mail scanner or a link preview that fetches the link decides
 * nothing; the button's `POST` decides, once.
 */
@Controller('v1/approvals')
export class ApprovalsController {
  constructor(
    @Inject(RPC_TRANSPORT) private readonly rpc: RpcClient,
    @Inject(RPC_TIMEOUT_MS) private readonly timeoutMs: number,
  ) {}

  @Get(':token')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  async open(
    @Param(new ZodPipe(ApprovalLinkParams, 'params')) { token }: ApprovalLinkParams,
  ): Promise<string> {
    const link = await this.call('approvals.open', token, {});
    return page(link, false);
  }

  @Post(':token')
  @HttpCode(200)
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  async use(
    @Param(new ZodPipe(ApprovalLinkParams, 'params')) { token }: ApprovalLinkParams,
    @Req() request: FastifyRequest,
  ): Promise<string> {
    const link = await this.call('approvals.use', token, formOf(request));
    return page(link, true);
  }

  private call(
    method: 'approvals.open' | 'approvals.use',
    token: string,
    output: Record<string, unknown>,
  ): Promise<ApprovalLinkView> {
    return this.rpc.call(
      WorkflowRpc,
      method,
      { schemaVersion: 1, token, output },
      { timeoutMs: this.timeoutMs },
    );
  }
}

/** The POST's fields: a form's (`comment=…`), or a JSON object's; nothing else. */
function formOf(request: FastifyRequest): Record<string, unknown> {
  const { body } = request;
  if (Buffer.isBuffer(body)) {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return {};
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page a person reads: what is asked, and a button while the link can still decide. */
function page(link: ApprovalLinkView, used: boolean): string {
  const verb = link.decision === 'approve' ? 'Approve' : 'Reject';
  const body = used
    ? `<p>${link.decision === 'approve' ? 'Approved' : 'Rejected'}. You can close this page.</p>`
    : link.state === 'waiting'
      ? `<form method="post">
  <p><label>Comment (optional)<br><textarea name="comment" rows="3" cols="60"></textarea></label></p>
  <p><button type="submit">${verb}</button></p>
</form>
<p>The link works once, until ${escape(link.expiresAt)}.</p>`
      : `<p>This approval is ${link.state === 'decided' ? 'already decided' : 'closed'}.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${verb} — Weft</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>${verb}?</h1>
${link.message ? `<blockquote>${escape(link.message)}</blockquote>` : ''}
<p>Run <code>${escape(link.runId)}</code>, step <code>${escape(link.stepId)}</code>.</p>
${body}
</body></html>
`;
}
