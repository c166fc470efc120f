export declare function messageIdOf(idempotencyKey: string): string;
export declare function headersOf(raw: string | Buffer): Record<string, string>;

/** What idsPerStep counts: see message-ids.cjs. */
export interface IdsPerStep {
  received: number;
  steps: number;
  distinctIds: number;
  maxIdsPerStep: number;
  copies: number;
  stepsWithCopies: number;
  stepsWithSeveralIds: number;
  requiredSteps: number;
  requiredWithoutOneId: number;
  idsNotMatchingStep: number;
  withoutStep: number;
  withoutId: number;
  examples: {
    stepsWithSeveralIds: { step: string; ids: Record<string, number> }[];
    requiredWithoutOneId: string[];
    idsNotMatchingStep: { step: string; id: string; expected: string }[];
  };
}

export declare function idsPerStep(
  messages: Iterable<{ step?: string | null; id?: string | null }>,
  options?: { required?: Iterable<string>; expectedIdOf?: (step: string) => string },
): IdsPerStep;
export declare function idsPerStepPassed(figures: IdsPerStep & { complete?: boolean }): boolean;
