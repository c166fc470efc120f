import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ApprovalDecision } from '@weft/contracts';
import type { Sql } from '../engine/store/transactions';

/** What a signed approval link stands for: one decision on one attempt of one step. */
export interface ApprovalLink {
  tenantId: string;
  runId: string;
  stepId: string;
  /** The step's attempt: a retried approval gets new links, and the old ones stop working. */
  attempt: number;
  decision: ApprovalDecision;
  /** When the step times out; the link stops working then too. */
  expiresAt: Date;
}

/** Signs an approval link into the URL a person opens (the engine's port). */
export type ApprovalLinkSigner = (link: ApprovalLink) => string;

/** The path under the gateway's public URL where links are opened. */
export const APPROVAL_LINK_PATH = '/v1/approvals/';

/**
 * Approval links: `{publicUrl}/v1/approvals/{payload}.{signature}`, the payload the link's
 * fields in base64url JSON and the signature an HMAC-SHA256 of it under the key of
 * `workflow.link_keys` (made at random by the migration, shared by every engine through the
 * database). A link carries no secret and works without an API key; its signature makes it
 * unforgeable, its attempt and expiry bound it, and the step leaving `waiting` uses it up.
 */
export class ApprovalLinks {
  private key?: Buffer;

  constructor(
    private readonly db: Sql,
    private readonly publicUrl: string,
  ) {}

  /** Reads the key; once, before the engine runs. */
  async load(): Promise<void> {
    const rows: { secret: Buffer }[] = await this.db.query(
      'SELECT secret FROM workflow.link_keys WHERE id = 1',
    );
    if (!rows[0]) throw new Error('workflow.link_keys has no key: run the migrations');
    this.key = rows[0].secret;
  }

  readonly sign: ApprovalLinkSigner = (link) => {
    const payload = Buffer.from(
      JSON.stringify({
        t: link.tenantId,
        r: link.runId,
        s: link.stepId,
        a: link.attempt,
        d: link.decision,
        e: Math.floor(link.expiresAt.getTime() / 1000),
      }),
    ).toString('base64url');
    return `${this.publicUrl.replace(/\/$/, '')}${APPROVAL_LINK_PATH}${payload}.${this.mac(payload)}`;
  };

  /** The link a token stands for, or undefined when it is malformed or not signed by us. */
  verify(token: string): ApprovalLink | undefined {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined || token.length > 2000) return undefined;
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        t: string;
        r: string;
        s: string;
        a: number;
        d: ApprovalDecision;
        e: number;
      };
      return {
        tenantId: fields.t,
        runId: fields.r,
        stepId: fields.s,
        attempt: fields.a,
        decision: fields.d,
        expiresAt: new Date(fields.e * 1000),
      };
    } catch {
      return undefined;
    }
  }

  private mac(payload: string): string {
    if (!this.key) throw new Error('ApprovalLinks.load() has not run');
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
