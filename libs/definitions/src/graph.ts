/** The part of a step that the graph functions read. */
export type StepNode = { readonly id: string; readonly needs?: readonly string[] };

/**
 * Step ids with the steps they need first, in definition order among the steps that are
 * ready at the same time. Throws when the graph has a cycle, a duplicate id or an unknown
 * need: validate the definition first.
 */
export function topologicalOrder(definition: { readonly steps: readonly StepNode[] }): string[] {
  const { steps } = definition;
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < steps.length) {
    let progressed = false;
    for (const step of steps) {
      if (placed.has(step.id) || !(step.needs ?? []).every((need) => placed.has(need))) continue;
      placed.add(step.id);
      order.push(step.id);
      progressed = true;
    }
    if (!progressed) {
      throw new Error(
        'steps cannot be ordered: their needs have a cycle, an unknown or a duplicate id',
      );
    }
  }
  return order;
}

/**
 * Cycles of the `needs` graph, each as the ids along it: `['a', 'b', 'c']` means a needs b,
 * b needs c and c needs a. Each reported cycle starts at its earliest step; one cycle is
 * reported per tangle of steps (breaking it may reveal another). Self-needs, needs of unknown
 * steps and later duplicates of an id are ignored: they are reported on their own.
 */
export function findCycles(steps: readonly StepNode[]): string[][] {
  const position = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!position.has(step.id)) position.set(step.id, index);
  });
  const needsOf = new Map<string, string[]>();
  const dependentsOf = new Map<string, string[]>();
  steps.forEach((step, index) => {
    if (position.get(step.id) !== index) return;
    const needs = [...new Set(step.needs ?? [])].filter(
      (need) => need !== step.id && position.has(need),
    );
    needsOf.set(step.id, needs);
    for (const need of needs) {
      const dependents = dependentsOf.get(need) ?? [];
      dependents.push(step.id);
      dependentsOf.set(need, dependents);
    }
  });

  // Kahn's algorithm: peel off every step whose needs are all peeled; what stays is on a cycle
  // or behind one.
  const remaining = new Set(needsOf.keys());
  const unpeeledNeeds = new Map([...needsOf].map(([id, needs]) => [id, needs.length]));
  const peel = (ids: Iterable<string>): void => {
    const queue = [...ids];
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      if (!remaining.delete(id)) continue;
      for (const dependent of dependentsOf.get(id) ?? []) {
        const left = (unpeeledNeeds.get(dependent) ?? 0) - 1;
        unpeeledNeeds.set(dependent, left);
        if (left === 0) queue.push(dependent);
      }
    }
  };
  peel([...remaining].filter((id) => unpeeledNeeds.get(id) === 0));

  const cycles: string[][] = [];
  for (let start = first(remaining); start !== undefined; start = first(remaining)) {
    const cycle = walkToCycle(start, remaining, needsOf);
    cycles.push(rotateToEarliest(cycle, position));
    peel(cycle);
  }
  return cycles;
}

function first(ids: Set<string>): string | undefined {
  return ids.values().next().value;
}

/** Every remaining step needs another remaining step, so following needs must loop. */
function walkToCycle(
  start: string,
  remaining: ReadonlySet<string>,
  needsOf: ReadonlyMap<string, readonly string[]>,
): string[] {
  const seenAt = new Map<string, number>();
  const path: string[] = [];
  let current: string | undefined = start;
  while (current !== undefined && !seenAt.has(current)) {
    seenAt.set(current, path.length);
    path.push(current);
    current = needsOf.get(current)?.find((need) => remaining.has(need));
  }
  return current === undefined ? path : path.slice(seenAt.get(current));
}

function rotateToEarliest(cycle: string[], position: ReadonlyMap<string, number>): string[] {
  const at = (id: string): number => position.get(id) ?? 0;
  const earliest = cycle.reduce(
    (best, id, index) => (at(id) < at(cycle[best] ?? id) ? index : best),
    0,
  );
  return [...cycle.slice(earliest), ...cycle.slice(0, earliest)];
}
