import type { ErrorEntry } from './error-entry';

export const WebhookErrors = {
  webhook_not_found: { kind: 'not_found', title: 'Webhook not found' },
  webhook_path_taken: { kind: 'conflict', title: 'Webhook path taken' },
} as const satisfies Record<`webhook_${string}`, ErrorEntry>;
