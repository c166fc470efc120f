/** What the console reads of a workflow definition (docs/reference/definitions.md): the steps' DAG. */
export interface DefinedStep {
  id: string;
  type: string;
  needs: string[];
  with?: unknown;
}

/** The steps of a definition as saved (validated by the workflow service, so well-formed). */
export function stepsOf(definition: Record<string, unknown> | undefined): DefinedStep[] {
  const steps = definition?.['steps'];
  if (!Array.isArray(steps)) return [];
  return steps.map((raw: Record<string, unknown>) => ({
    id: String(raw['id']),
    type: String(raw['type']),
    needs: Array.isArray(raw['needs']) ? raw['needs'].map(String) : [],
    ...('with' in raw && { with: raw['with'] }),
  }));
}
