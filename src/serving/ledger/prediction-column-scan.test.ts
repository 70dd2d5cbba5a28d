import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createTestEventBus } from '../../../test/support/events.js';
import { createAuditLog } from '../../audit/index.js';
import { fakeClock, systemClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { servingEvents } from '../serving.events.js';
import type { Prediction } from '../serving.schema.js';
import { createFeedbackService } from './feedback.service.js';
import { eventually, logUnderTest, makeRecord } from './ledger-fixtures.contract.js';
import { type PredictionColumnQuery, WINDOW_SEGMENTS } from './prediction-column-scan.js';
import type { PredictionColumns } from './prediction-columns.js';
import type { PredictionLedger } from './prediction-ledger.js';
import type { PredictionRecord } from './prediction-row.js';
import { createPredictionStore } from './prediction-store.js';
import { createSegmentReader } from './segment-reader.js';

const T0 = Date.UTC(2026, 4, 1, 8, 0, 0);

/** A row of either scan, in one shape: what monitoring reads of it. */
function rowOfPrediction(p: Prediction, features: readonly string[] | undefined) {
  const inputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.inputs)) if (!features || features.includes(k)) inputs[k] = v;
  return {
    servedAt: Date.parse(p.servedAt),
    modelVersionId: p.modelVersionId,
    model: p.model,
    version: p.version,
    role: p.role,
    outputs: p.outputs,
    shadow: p.shadow ? { modelVersionId: p.shadow.modelVersionId, outputs: p.shadow.outputs } : null,
    label: p.label
      ? { predictionId: p.id, value: p.label.value, receivedAt: Date.parse(p.label.receivedAt) }
      : undefined,
    inputs,
  };
}

function rowsOfColumns(page: PredictionColumns) {
  return Array.from({ length: page.length }, (_, i) => {
    const inputs: Record<string, unknown> = {};
    for (const [k, col] of page.inputs) if (col[i] !== undefined) inputs[k] = col[i];
    const a = page.answers[i];
    return {
      servedAt: page.servedAt[i],
      modelVersionId: a?.modelVersionId,
      model: a?.model,
      version: a?.version,
      role: a?.role,
      outputs: a?.outputs,
      shadow: a?.shadow,
      label: page.labels[i],
      inputs,
    };
  });
}

describeEachBackend('prediction store: columnar scan', (get) => {
  const segmentsLog = logUnderTest(get, 'segments');
  const tableLog = logUnderTest(get, 'table');
  let segmentLedger: PredictionLedger;
  let tableLedger: PredictionLedger;
  const store = () =>
    createPredictionStore({ db: get().db, clock: systemClock, segments: segmentsLog.segments() });
  beforeAll(() => {
    segmentLedger = segmentsLog.openLedger();
    tableLedger = tableLog.openLedger();
  });
  afterAll(async () => {
    await segmentLedger?.close();
    await tableLedger?.close();
  });

  async function label(items: { prediction_id: string; label: number | string }[]) {
    const clock = fakeClock(T0 + 3_600_000);
    const feedback = createFeedbackService({
      db: get().db,
      clock,
      segments: segmentsLog.segments(),
      audit: createAuditLog({
        db: get().db,
        dialect: get().dialect,
        clock,
        key: 'column-scan-key-0123456789',
      }),
      events: createTestEventBus(get(), { definitions: servingEvents, clock }),
    });
    const outcomes = await feedback.submit({ actor: 'alice', items });
    expect(outcomes.every((o) => o.status === 'recorded')).toBe(true);
  }

  /** Both scans of a query, page sizes checked, as rows of one shape. */
  async function bothScans(q: PredictionColumnQuery & { batchSize: number }) {
    const columns = [];
    for await (const page of store().scanColumns(q)) {
      expect(page.length).toBeGreaterThan(0);
      expect(page.length).toBeLessThanOrEqual(q.batchSize);
      columns.push(...rowsOfColumns(page));
    }
    const rows = [];
    for await (const page of store().scan(q)) rows.push(...page.map((p) => rowOfPrediction(p, q.features)));
    return { columns, rows };
  }

  /**
   * 40 answered predictions of one deployment, 2 s apart, alternating between the table and the
   * segments (sealed every 7 rows, the last ones open), plus a row of the other storage at the same
   * millisecond every 5th row; two versions, a shadow on some, failed rows in both storages.
   */
  async function seedMixed() {
    const dep = newId('dep');
    const records: PredictionRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const servedAt = T0 + i * 2000;
      const r = makeRecord({
        deploymentId: dep,
        servedAt,
        modelVersionId: i % 3 === 0 ? 'mv_b' : 'mv_a',
        version: i % 3 === 0 ? 2 : 1,
        inputs: { age: 20 + i, income: 1000.5 * i, region: i % 2 ? 'north' : 'south' },
        outputs: { prediction: i % 2, probabilities: { '0': 1 - i / 40, '1': i / 40 } },
        shadow: i % 4 === 0 ? { modelVersionId: 'mv_shadow', outputs: { prediction: 1 }, error: null } : null,
      });
      records.push(r);
      await (i % 2 === 0 ? tableLedger : segmentLedger).append(r);
      if (i % 5 === 0) {
        const tie = makeRecord({
          deploymentId: dep,
          servedAt,
          inputs: { age: i, income: 1, region: 'east' },
        });
        records.push(tie);
        await (i % 2 === 0 ? segmentLedger : tableLedger).append(tie);
      }
    }
    const failed = makeRecord({ deploymentId: dep, servedAt: T0 + 3000 });
    for (const l of [tableLedger, segmentLedger])
      await l.appendBatch({
        ...failed,
        ids: [newId('pred', T0 + 3000)],
        inputs: [{ age: 1 }],
        outputs: [],
        shadow: null,
        error: { code: 'UPSTREAM_TIMEOUT', message: 'no answer' },
      });
    await eventually(async () => {
      const segs = await get()
        .db.selectFrom('prediction_segments')
        .select('state')
        .where('deployment_id', '=', dep)
        .execute();
      return segs.filter((s) => s.state === 'sealed').length >= 2 && segs.some((s) => s.state === 'open');
    }, 'sealed and open segments');
    return { dep, records };
  }

  it('reads the same rows as the row scan across table rows, open and sealed segments (ties in time included), failed rows left out', async () => {
    const { dep, records } = await seedMixed();
    const labelled = [records[1], records[4], records[12], records[records.length - 1]] as PredictionRecord[];
    await label(labelled.map((r, i) => ({ prediction_id: r.id, label: i % 2 === 0 ? 1 : 'yes' })));

    const { columns, rows } = await bothScans({ deploymentId: dep, batchSize: 6 });
    expect(rows).toHaveLength(records.length);
    expect(columns).toEqual(rows);
    expect(columns.filter((r) => r.label).map((r) => r.label?.predictionId)).toEqual(
      [...labelled].sort((a, b) => a.servedAt - b.servedAt || (a.id < b.id ? -1 : 1)).map((r) => r.id),
    );
    expect(columns.filter((r) => r.shadow).length).toBe(10);
  });

  it('filters by [since, until), model version and deployment as the row scan does', async () => {
    const { dep } = await seedMixed();
    const other = await seedMixed();
    const window = { since: T0 + 9000, until: T0 + 61_000 };
    for (const q of [
      { deploymentId: dep, ...window, batchSize: 4 },
      { deploymentId: dep, modelVersionId: 'mv_b', batchSize: 5 },
      { deploymentId: dep, modelVersionId: 'mv_none', batchSize: 5 },
      { deploymentId: other.dep, ...window, modelVersionId: 'mv_a', batchSize: 100 },
    ]) {
      const { columns, rows } = await bothScans(q);
      expect(columns).toEqual(rows);
      if (q.modelVersionId !== 'mv_none') expect(rows.length).toBeGreaterThan(0);
    }
    const { columns } = await bothScans({ deploymentId: dep, ...window, batchSize: 4 });
    expect(
      columns.map((r) => r.servedAt).every((t) => t !== undefined && t >= window.since && t < window.until),
    ).toBe(true);
  });

  it('sealed segments give numeric features as Float64Arrays; asked-for features are columns even when no row has them', async () => {
    const dep = newId('dep');
    for (let i = 0; i < 14; i++)
      await segmentLedger.append(
        makeRecord({
          deploymentId: dep,
          servedAt: T0 + i,
          inputs: { age: i, income: i / 3, region: 'west' },
        }),
      );
    await eventually(async () => {
      const segs = await get()
        .db.selectFrom('prediction_segments')
        .select('state')
        .where('deployment_id', '=', dep)
        .where('state', '=', 'sealed')
        .execute();
      return segs.length === 2;
    }, 'two sealed segments');
    const pages: PredictionColumns[] = [];
    for await (const page of store().scanColumns({ deploymentId: dep, features: ['income', 'height'] }))
      pages.push(page);
    expect(pages).toHaveLength(1);
    const page = pages[0] as PredictionColumns;
    expect([...page.inputs.keys()]).toEqual(['income', 'height']);
    expect(page.inputs.get('income')).toBeInstanceOf(Float64Array);
    expect([...(page.inputs.get('income') ?? [])]).toEqual(Array.from({ length: 14 }, (_, i) => i / 3));
    expect([...(page.inputs.get('height') ?? [])]).toEqual(new Array(14).fill(undefined));
    const all = await bothScans({ deploymentId: dep, batchSize: 100 });
    expect(all.columns).toEqual(all.rows);
  });

  it('a sealed segment whose rows hold features beyond its typed columns reads them from the JSON', async () => {
    const dep = newId('dep');
    for (let i = 0; i < 7; i++)
      await segmentLedger.append(
        makeRecord({
          deploymentId: dep,
          servedAt: T0 + i,
          // `note` is missing from most rows and `tags` is nested: neither gets a typed column.
          inputs: { age: i, ...(i === 3 ? { note: 'late' } : {}), tags: { a: i } },
        }),
      );
    await eventually(async () => {
      const segs = await get()
        .db.selectFrom('prediction_segments')
        .select('state')
        .where('deployment_id', '=', dep)
        .where('state', '=', 'sealed')
        .execute();
      return segs.length === 1;
    }, 'a sealed segment');
    const { columns, rows } = await bothScans({ deploymentId: dep, batchSize: 3 });
    expect(columns).toEqual(rows);
    expect(columns[3]?.inputs).toEqual({ age: 3, note: 'late', tags: { a: 3 } });
    const picked = await bothScans({ deploymentId: dep, features: ['note', 'age'], batchSize: 10 });
    expect(picked.columns).toEqual(picked.rows);
  });

  /**
   * `n` rows in sealed segments (7 rows each) whose time ranges chain: the first row of every segment
   * is served before the previous segment's last, as rows completing out of order are.
   */
  async function seedChained(n: number) {
    const dep = newId('dep');
    const records: PredictionRecord[] = [];
    for (let i = 0; i < n; i++) {
      const r = makeRecord({
        deploymentId: dep,
        servedAt: T0 + i * 1000 - (i % 7 === 0 && i > 0 ? 2500 : 0),
        inputs: { age: i, score: i / 7, region: i % 3 ? 'north' : 'south' },
        outputs: { prediction: i % 2, probabilities: { '0': 1 - i / n, '1': i / n } },
      });
      records.push(r);
      await segmentLedger.append(r);
    }
    const sealed = Math.floor(n / 7);
    await eventually(async () => {
      const segs = await get()
        .db.selectFrom('prediction_segments')
        .select('state')
        .where('deployment_id', '=', dep)
        .where('state', '=', 'sealed')
        .execute();
      return segs.length === sealed;
    }, `${sealed} sealed segments`);
    return { dep, records, sealed };
  }

  it('a chain of more overlapping segments than one window takes reads as the row scan does, labels included', async () => {
    const { dep, records, sealed } = await seedChained(7 * (2 * WINDOW_SEGMENTS + 3));
    expect(sealed).toBeGreaterThan(2 * WINDOW_SEGMENTS);
    const labelled = records.filter((_, i) => i % 9 === 4);
    await label(labelled.map((r, i) => ({ prediction_id: r.id, label: i % 2 === 0 ? 1 : 'yes' })));
    const { columns, rows } = await bothScans({ deploymentId: dep, batchSize: 10 });
    expect(rows).toHaveLength(records.length);
    expect(columns).toEqual(rows);
    expect(columns.filter((r) => r.label).length).toBe(labelled.length);
    const window = { since: T0 + 30_500, until: T0 + 101_000 };
    const part = await bothScans({ deploymentId: dep, ...window, batchSize: 7 });
    expect(part.rows.length).toBeGreaterThan(0);
    expect(part.columns).toEqual(part.rows);
  });

  it('a scan stopped after its first page copies only the segments that page needed', async () => {
    const { dep, sealed } = await seedChained(7 * (3 * WINDOW_SEGMENTS));
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'sextant-scan-cache-'));
    const segments = createSegmentReader({ db: get().db, blobs: segmentsLog.blobs, cacheDir });
    const cold = createPredictionStore({ db: get().db, clock: systemClock, segments });
    const copied = () => readdirSync(cacheDir).filter((f) => f.endsWith('.parquet')).length;
    for await (const page of cold.scanColumns({ deploymentId: dep, batchSize: 5 })) {
      expect(page.length).toBe(5);
      break;
    }
    expect(copied()).toBeGreaterThan(0);
    expect(copied()).toBeLessThanOrEqual(WINDOW_SEGMENTS + 1);
    for await (const _ of cold.scanColumns({ deploymentId: dep, batchSize: 500 })) {
      // Read to the end: every segment is copied.
    }
    expect(copied()).toBe(sealed);
  });
});
