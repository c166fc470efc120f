import type { ErrorEntry } from './error-entry';

export const WorkflowErrors = {
  workflow_definition_invalid: { kind: 'invalid', title: 'Workflow definition invalid' },
  workflow_not_found: { kind: 'not_found', title: 'Workflow not found' },
  workflow_version_not_found: { kind: 'not_found', title: 'Workflow version not found' },
  workflow_archived: { kind: 'conflict', title: 'Workflow archived' },
  workflow_name_taken: { kind: 'conflict', title: 'Workflow name taken' },
} as const satisfies Record<`workflow_${string}`, ErrorEntry>;
