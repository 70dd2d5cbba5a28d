import type { Db } from '../store/index.js';
import type { AuditProblem } from './audit.schema.js';
import * as repo from './governed.repo.js';
import { GOVERNED_TABLES, type GovernedRow, type GovernedTable, governedRow } from './governed-rows.js';
import { predictionSealProblems } from './prediction-seal.js';
import { segmentSealProblems } from './segment-seal.js';

type Recorded = Map<string, { fields: GovernedRow['fields']; seq: number }>;

const show = (v: unknown) => (v === null || v === undefined ? 'null' : JSON.stringify(v));

/** The last recorded state of every governed row, from the entries up to `upTo`. */
async function recordedRows(db: Db, upTo: number): Promise<Map<GovernedTable, Recorded>> {
  const recorded = new Map<GovernedTable, Recorded>(GOVERNED_TABLES.map((t) => [t, new Map()]));
  for (let after = 0; ; ) {
    const page = await repo.listGovernedEntries({ tx: db, afterSeq: after, upTo });
    for (const e of page) {
      const rows = (JSON.parse(e.details ?? '{}') as { governed?: GovernedRow[] }).governed ?? [];
      for (const r of rows) recorded.get(r.table)?.set(r.id, { fields: r.fields, seq: Number(e.seq) });
    }
    if (page.length === 0) return recorded;
    after = Number(page[page.length - 1]!.seq);
  }
}

/**
 * Compares the governed tables as they are with what their last audit entries recorded, and names
 * every difference: a field changed, a row no entry recorded (inserted behind the log's back), a
 * recorded row gone (deleted behind its back). Then the sealed blocks of the prediction log
 * (prediction-seal.ts).
 */
export async function deepProblems(db: Db, upTo: number): Promise<AuditProblem[]> {
  const recorded = await recordedRows(db, upTo);
  const problems: AuditProblem[] = [];
  for (const table of GOVERNED_TABLES) {
    const expected = recorded.get(table)!;
    const seen = new Set<string>();
    for (const raw of await repo.listGovernedTable(db, table)) {
      // The rows come from the table the name says; the projection reads the columns it knows.
      const now = governedRow(table, raw as never);
      seen.add(now.id);
      const last = expected.get(now.id);
      if (!last) {
        problems.push({
          kind: 'row-unrecorded',
          seq: null,
          message: `${table} ${now.id}: no audit entry records this row (${describe(now.fields)})`,
        });
        continue;
      }
      if (last.fields === null) {
        problems.push({
          kind: 'row-changed',
          seq: last.seq,
          message: `${table} ${now.id}: present, but entry ${last.seq} recorded its removal`,
        });
        continue;
      }
      const diffs = Object.keys({ ...last.fields, ...now.fields })
        .filter((k) => show(last.fields?.[k]) !== show(now.fields?.[k]))
        .map((k) => `${k} is ${show(now.fields?.[k])}, entry ${last.seq} recorded ${show(last.fields?.[k])}`);
      if (diffs.length > 0) {
        problems.push({
          kind: 'row-changed',
          seq: last.seq,
          message: `${table} ${now.id}: ${diffs.join('; ')}`,
        });
      }
    }
    for (const [id, last] of expected) {
      if (last.fields !== null && !seen.has(id)) {
        problems.push({
          kind: 'row-missing',
          seq: last.seq,
          message: `${table} ${id}: recorded by entry ${last.seq}, but gone from the table`,
        });
      }
    }
  }
  problems.push(...(await predictionSealProblems(db, upTo)));
  problems.push(...(await segmentSealProblems(db, upTo)));
  return problems;
}

function describe(fields: GovernedRow['fields']): string {
  return Object.entries(fields ?? {})
    .filter(([k]) => k !== 'token_hash_digest')
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(', ');
}
