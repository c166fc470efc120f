import { DomainError, type ApprovalLinkRequest, type ApprovalLinkView } from '@weft/contracts';
import type { RunRepository } from '../engine/store/run.repository';
import type { RunService } from '../runs/run.service';
import type { ApprovalLink, ApprovalLinks } from './approval-links';

/**
 * Approval links opened without an API key: the signature is the credential. Opening shows
 * what the link would decide and changes nothing (a mail scanner fetching it decides
 * nothing); using it decides, once.
 */
export class ApprovalService {
  constructor(
    private readonly links: ApprovalLinks,
    private readonly runs: RunRepository,
    private readonly runService: RunService,
  ) {}

  async open({ token }: ApprovalLinkRequest): Promise<ApprovalLinkView> {
    const link = this.verified(token);
    return this.view(link);
  }

  async use({ token, output }: ApprovalLinkRequest): Promise<ApprovalLinkView> {
    const link = this.verified(token);
    if (link.expiresAt.getTime() <= Date.now()) {
      throw new DomainError('approval_link_expired', 'this link expired; the approval timed out');
    }
    await this.runService.complete({
      schemaVersion: 1,
      tenantId: link.tenantId,
      runId: link.runId,
      stepId: link.stepId,
      decision: link.decision,
      output,
      once: true,
      attempt: link.attempt,
    });
    return this.view(link);
  }

  private verified(token: string): ApprovalLink {
    const link = this.links.verify(token);
    if (!link) throw new DomainError('approval_link_invalid', 'this is not an approval link');
    return link;
  }

  private async view(link: ApprovalLink): Promise<ApprovalLinkView> {
    const step = (await this.runs.stepsOf([link.runId])).get(link.runId)?.get(link.stepId);
    const run = await this.runs.findRun(link.tenantId, link.runId);
    if (!run || !step) throw new DomainError('approval_link_invalid', 'the run is gone');
    const waiting = step.waiting?.kind === 'approval' ? step.waiting : undefined;
    const decided = (step.output as { decision?: unknown } | null)?.decision !== undefined;
    return {
      runId: link.runId,
      stepId: link.stepId,
      decision: link.decision,
      message: waiting?.message ?? null,
      expiresAt: link.expiresAt.toISOString(),
      state:
        waiting && step.attempt === link.attempt && link.expiresAt.getTime() > Date.now()
          ? 'waiting'
          : decided
            ? 'decided'
            : 'closed',
    };
  }
}
