import {
  Graph,
  layout as dagreLayout,
  type EdgeLabel,
  type GraphLabel,
  type NodeLabel,
} from '@dagrejs/dagre';
import type { StepStatus } from '@weft/contracts';
import { useMemo } from 'react';
import type { DefinedStep } from '../api/definition';
import { STATUS_ICON, toneOf } from './status';

const NODE_WIDTH = 168;
const NODE_HEIGHT = 52;

interface Layout {
  width: number;
  height: number;
  nodes: { step: DefinedStep; x: number; y: number }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

/** Lays the DAG out left to right (dagre: layered, with few crossings). */
function layout(steps: DefinedStep[]): Layout {
  const graph = new Graph<GraphLabel, NodeLabel, EdgeLabel>();
  graph.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 56, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(steps.map((step) => step.id));
  for (const step of steps) graph.setNode(step.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const step of steps) {
    for (const need of step.needs) if (ids.has(need)) graph.setEdge(need, step.id);
  }
  dagreLayout(graph);
  const { width = 0, height = 0 } = graph.graph();
  return {
    width,
    height,
    nodes: steps.map((step) => {
      const { x = 0, y = 0 } = graph.node(step.id);
      return { step, x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2 };
    }),
    edges: graph.edges().map((edge) => ({
      from: edge.v,
      to: edge.w,
      points: graph.edge(edge).points ?? [],
    })),
  };
}

const clip = (text: string, length: number) =>
  text.length > length ? `${text.slice(0, length - 1)}…` : text;

const pathOf = (points: { x: number; y: number }[]) =>
  points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');

/**
 * Steps as a graph: each node the step's id and type, each edge a `needs`. On a run page
 * (`statusOf`, `onSelect`) each node also shows its status (colour, icon and word) and is a
 * button that selects the step's details; on a workflow page it is the definition's shape only.
 */
export function StepGraph({
  steps,
  statusOf,
  selected = null,
  onSelect,
}: {
  steps: DefinedStep[];
  statusOf?: (id: string) => StepStatus;
  selected?: string | null;
  onSelect?: (id: string) => void;
}) {
  const graph = useMemo(() => layout(steps), [steps]);
  return (
    <div className="graph-scroll">
      <svg
        className="step-graph"
        width={graph.width}
        height={graph.height}
        viewBox={`0 0 ${graph.width} ${graph.height}`}
        role="group"
        aria-label="Steps and their dependencies"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge-head" />
          </marker>
        </defs>
        {graph.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            d={pathOf(edge.points)}
            className="edge"
            markerEnd="url(#arrow)"
          />
        ))}
        {graph.nodes.map(({ step, x, y }) => {
          const status = statusOf?.(step.id);
          if (!status || !onSelect) {
            return (
              <g
                key={step.id}
                transform={`translate(${x},${y})`}
                className="node"
                data-step={step.id}
              >
                <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="8" />
                <title>{`${step.id} (${step.type})`}</title>
                <text x="12" y="21" className="node-title">
                  {clip(step.id, 21)}
                </text>
                <text x="12" y="39" className="node-sub">
                  {clip(step.type, 22)}
                </text>
              </g>
            );
          }
          return (
            <g
              key={step.id}
              transform={`translate(${x},${y})`}
              className={`node tone-${toneOf(status)}${selected === step.id ? ' selected' : ''}`}
              data-step={step.id}
              data-status={status}
              role="button"
              tabIndex={0}
              aria-label={`Step ${step.id}: ${status}`}
              aria-pressed={selected === step.id}
              onClick={() => onSelect(step.id)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault();
                  onSelect(step.id);
                }
              }}
            >
              <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="8" />
              <title>{`${step.id} (${step.type}): ${status}`}</title>
              <text x="12" y="21" className="node-title">
                {STATUS_ICON[status]} {clip(step.id, 19)}
              </text>
              <text x="12" y="39" className="node-sub">
                {clip(step.type, 14)} · {status}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
