import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useRef } from 'react';
import type { Run } from '../../../src/tracking/tracking.schema.js';
import { Badge } from '../components/status';
import { num, when } from '../format';
import { Link, seg } from '../router';

/** A column of the runs table: an attribute, a param (p:) or a metric (m:). */
export type Column =
  | { kind: 'attr'; key: 'status' | 'start' | 'user' }
  | { kind: 'param' | 'metric'; key: string };

export const columnId = (c: Column) =>
  c.kind === 'attr' ? c.key : `${c.kind === 'param' ? 'p' : 'm'}:${c.key}`;
export function parseColumn(id: string): Column | undefined {
  if (id === 'status' || id === 'start' || id === 'user') return { kind: 'attr', key: id };
  if (id.startsWith('p:')) return { kind: 'param', key: id.slice(2) };
  if (id.startsWith('m:')) return { kind: 'metric', key: id.slice(2) };
  return undefined;
}
const quoteKey = (k: string) => (/^[A-Za-z_][\w]*$/.test(k) ? k : `\`${k.replace(/`/g, '``')}\``);

/** The MLflow order_by term a column sorts by. */
export function orderTerm(c: Column | 'name'): string {
  if (c === 'name') return 'attributes.run_name';
  if (c.kind === 'attr')
    return { status: 'attributes.status', start: 'attributes.start_time', user: 'attributes.user_id' }[c.key];
  return `${c.kind === 'param' ? 'params' : 'metrics'}.${quoteKey(c.key)}`;
}

function header(c: Column): string {
  if (c.kind === 'attr') return { status: 'Status', start: 'Started', user: 'User' }[c.key];
  return c.key;
}

function cell(run: Run, c: Column): ReactNode {
  switch (c.kind) {
    case 'attr':
      if (c.key === 'status') return <Badge value={run.status} />;
      if (c.key === 'start') return when(run.startTime);
      return run.userId;
    case 'param':
      return run.params[c.key] ?? '';
    case 'metric': {
      const m = run.metrics.find((x) => x.key === c.key);
      return m ? num(m.value) : '';
    }
  }
}

const ROW = 32;

/**
 * The virtualised runs grid: only the rows in view are in the DOM, so 10,000 runs scroll like 10.
 * Rows are absolutely positioned divs (a <tr> cannot be), so ARIA table roles make them a table for
 * assistive technology (biome.json turns off the "use a <table>" lint for this file).
 * The column being sorted is pinned (sticky) beside the run name.
 */
export function RunsTable(props: {
  runs: Run[];
  columns: Column[];
  order: { term: string; desc: boolean } | undefined;
  onSort: (term: string) => void;
  selected: Set<string>;
  onToggle: (id: string) => void;
}) {
  const { runs, order } = props;
  const pinned = props.columns.find((c) => order && orderTerm(c) === order.term);
  const columns = pinned ? [pinned, ...props.columns.filter((c) => c !== pinned)] : props.columns;
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: runs.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
    // Rows render on the first pass, before the scroller has been measured.
    initialRect: { width: 1200, height: 720 },
  });
  const template = `40px minmax(220px, 2fr) ${columns.map(() => 'minmax(110px, 1fr)').join(' ')}`;
  const sortMark = (term: string) => (order?.term === term ? (order.desc ? ' ▼' : ' ▲') : '');
  const ariaSort = (term: string) =>
    order?.term === term ? (order.desc ? 'descending' : 'ascending') : ('none' as const);

  return (
    <div className="grid" role="table" aria-label="runs" aria-rowcount={runs.length + 1}>
      <div className="grid-head" role="rowgroup">
        <div className="grid-row" role="row" style={{ gridTemplateColumns: template }}>
          <span role="columnheader" className="grid-check">
            <span className="sr-only">Select</span>
          </span>
          <span role="columnheader" aria-sort={ariaSort('attributes.run_name')} className="sticky-name">
            <button type="button" onClick={() => props.onSort('attributes.run_name')}>
              Run{sortMark('attributes.run_name')}
            </button>
          </span>
          {columns.map((c) => {
            const term = orderTerm(c);
            return (
              <span
                role="columnheader"
                key={columnId(c)}
                aria-sort={ariaSort(term)}
                className={c === pinned ? 'pinned' : c.kind}
                title={c.kind === 'attr' ? undefined : `${c.kind} ${c.key}`}
              >
                <button type="button" onClick={() => props.onSort(term)}>
                  {header(c)}
                  {sortMark(term)}
                </button>
              </span>
            );
          })}
        </div>
      </div>
      <div className="grid-body" ref={scroller} role="rowgroup" data-testid="runs-scroller">
        <div style={{ height: rows.getTotalSize(), position: 'relative' }}>
          {rows.getVirtualItems().map((v) => {
            const run = runs[v.index]!;
            return (
              <div
                key={run.id}
                role="row"
                aria-rowindex={v.index + 2}
                className="grid-row"
                style={{ gridTemplateColumns: template, transform: `translateY(${v.start}px)`, height: ROW }}
              >
                <span role="cell" className="grid-check">
                  <input
                    type="checkbox"
                    aria-label={`select ${run.name}`}
                    checked={props.selected.has(run.id)}
                    onChange={() => props.onToggle(run.id)}
                  />
                </span>
                <span role="cell" className="sticky-name" title={run.name}>
                  <Link to={`/runs/${seg(run.id)}`}>{run.name || run.id}</Link>
                </span>
                {columns.map((c) => (
                  <span role="cell" key={columnId(c)} className={c === pinned ? 'pinned num' : 'num'}>
                    {cell(run, c)}
                  </span>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
