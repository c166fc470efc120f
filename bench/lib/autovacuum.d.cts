/** Types of autovacuum.cjs for the TypeScript tests. */
export interface AutovacuumReport {
  autovacuum: 'on' | 'off';
  /** Whether the benchmark turned it on (the server had it off). */
  setForBenchmark: boolean;
}

export declare function autovacuumForBenchmark(
  wanted: boolean,
): Promise<{ report: AutovacuumReport; restore: () => Promise<void> }>;
