import { parse } from 'yaml';
import { METRICS, type MetricFamily } from '@weft/runtime';
import { readText } from './support';

/**
 * deploy/prometheus/alerts.yaml and deploy/grafana/weft-dashboard.json, checked against the
 * metric catalogue of the code (METRICS in libs/runtime/src/metrics.ts): a misspelt or removed
 * family fails here, not on a dashboard that silently shows nothing.
 */

const families = new Map<string, MetricFamily>(
  Object.values(METRICS).map((family) => [family.name, family]),
);

/** The families an expression reads: `weft_…` names, a histogram's series by its family. */
function familiesIn(expr: string): string[] {
  return [...expr.matchAll(/\bweft_[a-z0-9_]+\b/g)].map(([name]) => {
    const base = name.replace(/_(bucket|count|sum)$/, '');
    return base !== name && families.get(base)?.type === 'histogram' ? base : name;
  });
}

interface Rule {
  alert?: string;
  record?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

describe('deploy/prometheus/alerts.yaml', () => {
  const file = parse(readText('deploy/prometheus/alerts.yaml')) as { groups?: unknown };

  it('is a Prometheus rule file: named groups of alerts, each with an expression, a severity and a summary', () => {
    expect(Array.isArray(file.groups)).toBe(true);
    const groups = file.groups as { name?: unknown; rules?: unknown }[];
    expect(new Set(groups.map((group) => group.name)).size).toBe(groups.length);
    const alerts = new Set<string>();
    for (const group of groups) {
      expect(Object.keys(group).sort()).toEqual(['name', 'rules']);
      expect(group.name).toMatch(/^weft\.[a-z]+$/);
      expect(Array.isArray(group.rules) && group.rules.length > 0).toBe(true);
      for (const rule of group.rules as Rule[]) {
        expect(
          Object.keys(rule).every((key) =>
            ['alert', 'expr', 'for', 'labels', 'annotations'].includes(key),
          ),
        ).toBe(true);
        expect(rule.alert).toMatch(/^Weft[A-Z][A-Za-z]+$/);
        expect(alerts.has(rule.alert!)).toBe(false);
        alerts.add(rule.alert!);
        expect(typeof rule.expr).toBe('string');
        expect(familiesIn(rule.expr as string).length).toBeGreaterThan(0);
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
        expect(['critical', 'warning', 'info']).toContain(rule.labels?.['severity']);
        expect(typeof rule.annotations?.['summary']).toBe('string');
        expect(typeof rule.annotations?.['description']).toBe('string');
      }
    }
  });

  const exprs = ((file.groups ?? []) as { rules: Rule[] }[]).flatMap((group) =>
    group.rules.map((rule) => String(rule.expr)),
  );

  it('reads only families the code registers', () => {
    const unknown = exprs.flatMap(familiesIn).filter((name) => !families.has(name));
    expect(unknown).toEqual([]);
  });

  it.each([
    METRICS.deadLetters,
    METRICS.outboxRows,
    METRICS.outboxOldestAge,
    METRICS.leasesReaped,
    METRICS.httpShed,
    METRICS.dbReplicaLag,
  ])('alerts on $name', ({ name }) => {
    expect(exprs.some((expr) => familiesIn(expr).includes(name))).toBe(true);
  });

  it('finds a misspelt family', () => {
    expect(familiesIn('max(weft_outbox_row) > 1').filter((name) => !families.has(name))).toEqual([
      'weft_outbox_row',
    ]);
  });
});

describe('deploy/grafana/weft-dashboard.json', () => {
  interface Panel {
    type: string;
    title?: string;
    targets?: { expr?: string }[];
    panels?: Panel[];
  }
  const dashboard = JSON.parse(readText('deploy/grafana/weft-dashboard.json')) as {
    uid?: string;
    title?: string;
    panels?: Panel[];
    templating?: { list?: { name: string; type: string }[] };
  };
  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const exprs = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''));

  it('is a dashboard with a Prometheus data source variable and titled panels', () => {
    expect(dashboard).toMatchObject({ uid: 'weft-overview', title: 'Weft' });
    expect(dashboard.templating?.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.title).toBeTruthy();
      expect(panel.targets?.length).toBeGreaterThan(0);
    }
  });

  it('reads only families the code registers', () => {
    const unknown = exprs.flatMap(familiesIn).filter((name) => !families.has(name));
    expect(unknown).toEqual([]);
  });

  it('shows every family', () => {
    const shown = new Set(exprs.flatMap(familiesIn));
    expect([...families.keys()].filter((name) => !shown.has(name))).toEqual([]);
  });
});

describe('docs/operations.md § Metrics', () => {
  const text = readText('docs/operations.md');
  const section = text.slice(
    text.indexOf('\n## Metrics\n'),
    text.indexOf('\n## ', text.indexOf('\n## Metrics\n') + 1),
  );

  it.each(Object.values(METRICS))('describes $name as a $type', ({ name, type }) => {
    expect(section).toMatch(new RegExp(`^\\| \`${name}\`\\s+\\| ${type}\\s+\\|`, 'm'));
  });

  it('describes no family the code does not register', () => {
    const named = [...section.matchAll(/^\| `(weft_[a-z0-9_]+)`/gm)].map(([, name]) => name!);
    expect(named.filter((name) => !families.has(name))).toEqual([]);
  });
});
