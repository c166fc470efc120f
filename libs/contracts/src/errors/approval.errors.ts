import type { ErrorEntry } from './error-entry';

/** Signed approval links (`/v1/approvals/{token}`), used without an API key. */
export const ApprovalErrors = {
  approval_link_invalid: { kind: 'not_found', title: 'Approval link invalid' },
  approval_link_expired: { kind: 'conflict', title: 'Approval link expired' },
} as const satisfies Record<`approval_${string}`, ErrorEntry>;
