import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { LocalBlobStore } from '../../blobs/index.js';
import { systemClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { lit, withConnection } from '../../data/index.js';
import type { Store } from '../../store/index.js';
import { countRows, makeRecord, testAudit } from './ledger-fixtures.contract.js';
import { openPredictionLedger } from './prediction-ledger.js';
import { entryRows, packRecord } from './prediction-row.js';
import { encodeFrame, encodeLegacyFrame, LEGACY_SEGMENT_MAGIC, readSegmentFile } from './segment-file.js';
import { cachedParquetPath, localParquet } from './segment-parquet.js';
import { createPredictionPruner } from './segment-prune.js';
import { createSegmentReader } from './segment-reader.js';
import { segmentWriter } from './segment-writer.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sextant-seglog-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeEachBackend('prediction log segments', (get: () => Store) => {
  const blobs = new LocalBlobStore(path.join(root, `blobs-${Math.random().toString(36).slice(2)}`));
  const fresh = () => {
    const dir = mkdtempSync(path.join(root, 'seg-'));
    return { dir, cacheDir: path.join(dir, 'cache') };
  };
  const segments = (deploymentId: string) =>
    get()
      .db.selectFrom('prediction_segments')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  const openLedger = (dir: string, extra: { maxRows?: number; mode?: 'durable' | 'async' } = {}) =>
    openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: extra.mode ?? 'durable',
      writer: segmentWriter({
        db: get().db,
        blobs,
        audit: testAudit(get()),
        clock: systemClock,
        dir,
        ...(extra.maxRows !== undefined ? { maxRows: extra.maxRows } : {}),
      }),
    });

  it('a durable append is in the open segment file when it resolves, and writes no row per prediction', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const ledger = openLedger(dir);
    const records = Array.from({ length: 5 }, () => makeRecord({ deploymentId: dep }));
    await Promise.all(records.map((r) => ledger.append(r)));
    const [seg] = await segments(dep);
    expect(seg?.state).toBe('open');
    const inFile = readSegmentFile(seg?.path as string)
      .groups.flat()
      .reduce((n, e) => n + entryRows(e), 0);
    expect(inFile).toBe(5);
    expect(await countRows(get(), dep)).toBe(0);
    // Readable while open, by id.
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    expect((await reader.find(records[2]?.id as string))?.inputs).toBe(JSON.stringify(records[2]?.inputs));
    await ledger.close();
  });

  it('a lookup in an open segment finds an id whose entry keeps its strings in UTF-16LE (a lone surrogate in an input)', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const ledger = openLedger(dir);
    const base = makeRecord({ deploymentId: dep });
    const ids = [newId('pred'), newId('pred')];
    await ledger.appendBatch({
      ...base,
      ids,
      inputs: [{ note: '\ud800' }, { note: 'plain' }],
      outputs: [],
      shadow: null,
      error: { code: 'UPSTREAM_TIMEOUT', message: 'no answer' },
    });
    const [seg] = await segments(dep);
    expect(seg?.state).toBe('open');
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    for (const id of ids) expect((await reader.find(id))?.id).toBe(id);
    expect(JSON.parse((await reader.find(ids[1] as string))?.inputs as string)).toEqual({ note: 'plain' });
    await ledger.close();
  });

  it('close seals the segment into a Parquet blob whose index row says what it holds', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const ledger = openLedger(dir);
    const t0 = Date.UTC(2026, 2, 1);
    const records = Array.from({ length: 7 }, (_, i) =>
      makeRecord({ deploymentId: dep, servedAt: t0 + i * 1000, modelVersionId: i < 3 ? 'mv_a' : 'mv_b' }),
    );
    for (const r of records) await ledger.append(r);
    await ledger.close();
    const [seg] = await segments(dep);
    expect(seg).toMatchObject({
      state: 'sealed',
      row_count: 7,
      path: null,
      min_id: records[0]?.id,
      max_id: records[6]?.id,
    });
    expect(Number(seg?.first_at)).toBe(t0);
    expect(Number(seg?.last_at)).toBe(t0 + 6000);
    expect(JSON.parse(seg?.model_version_ids as string)).toEqual(['mv_a', 'mv_b']);
    expect(await blobs.has(seg?.blob_key as string)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([]);
    // The seal is in the audit chain, naming the blob and what it holds.
    const [entry] = await testAudit(get()).list({
      entityType: 'prediction_log',
      entityId: seg?.id as string,
    });
    expect(entry).toMatchObject({
      action: 'predictions.segment.sealed',
      details: { rowCount: 7, blobKey: seg?.blob_key, minId: records[0]?.id, maxId: records[6]?.id },
    });
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    const one = await reader.find(records[4]?.id as string);
    expect(one).toMatchObject({
      id: records[4]?.id,
      model_version_id: 'mv_b',
      served_at: t0 + 4000,
      version: 1,
    });
    expect(JSON.parse(one?.outputs as string)).toEqual(records[4]?.outputs);
    const window = await reader.rows({ deploymentIds: [dep], since: t0 + 1000, until: t0 + 5000 });
    expect(window.map((r) => r.id).sort()).toEqual(records.slice(1, 5).map((r) => r.id));
    const byVersion = await reader.rows({ deploymentIds: [dep], modelVersionId: 'mv_a' });
    expect(byVersion).toHaveLength(3);
  });

  it('a segment that reaches maxRows is sealed and the next commits go to a new one', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const ledger = openLedger(dir, { maxRows: 4 });
    const records = Array.from({ length: 10 }, () => makeRecord({ deploymentId: dep }));
    for (const r of records) await ledger.append(r);
    await ledger.close();
    const segs = await segments(dep);
    expect(segs.map((s) => s.row_count)).toEqual([4, 4, 2]);
    expect(segs.every((s) => s.state === 'sealed')).toBe(true);
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    expect((await reader.rows({ deploymentIds: [dep] })).map((r) => r.id).sort()).toEqual(
      records.map((r) => r.id),
    );
  });

  it('sealing writes a typed column per input feature that fits one type, values exact; the JSON column stays', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const ledger = openLedger(dir);
    const values = [0.1 + 0.2, 1e-300, 2 ** 53 + 2, -2.5e-7, 41];
    const records = values.map((v, i) =>
      makeRecord({
        deploymentId: dep,
        servedAt: Date.UTC(2026, 4, 1) + i,
        inputs: {
          x: v,
          region: `r${i}`,
          flag: i % 2 === 0,
          mixed: i === 3 ? 'three' : i,
          sometimes: i === 2 ? null : 1,
          // A lone surrogate has no UTF-8 form: no typed VARCHAR column, the JSON keeps it exactly.
          odd: i === 1 ? 'a\ud800' : 'ok',
        },
      }),
    );
    for (const r of records) await ledger.append(r);
    await ledger.close();
    const [seg] = await segments(dep);
    const file = await localParquet(blobs, seg?.blob_key as string, cacheDir);
    const read = await withConnection(async (c) => {
      const r = await c.runAndReadAll(`SELECT * FROM read_parquet(${lit(file)}) ORDER BY served_at`);
      return { names: r.columnNames(), rows: r.getRowObjectsJS() };
    });
    expect(read.names.filter((n) => n.startsWith('input:')).sort()).toEqual([
      'input:flag',
      'input:region',
      'input:x',
    ]);
    expect(read.rows.map((r) => r['input:x'])).toEqual(values);
    expect(read.rows.map((r) => r['input:region'])).toEqual(values.map((_, i) => `r${i}`));
    expect(read.rows.map((r) => r['input:flag'])).toEqual(values.map((_, i) => i % 2 === 0));
    // The reader's rows are the prediction columns only, the inputs JSON as logged.
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    const rows = await reader.rows({ deploymentIds: [dep] });
    expect(Object.keys(rows[0] ?? {}).some((k) => k.startsWith('input:'))).toBe(false);
    expect(rows.map((r) => JSON.parse(r.inputs)).sort((a, b) => a.region.localeCompare(b.region))).toEqual(
      records.map((r) => r.inputs),
    );
  });

  it('a page reads only the segments it needs, and a count of whole segments reads none', async () => {
    const dep = newId('dep');
    const { dir } = fresh();
    const ledger = openLedger(dir, { maxRows: 5 });
    const t0 = Date.UTC(2026, 3, 1);
    const records = Array.from({ length: 60 }, (_, i) =>
      makeRecord({ deploymentId: dep, servedAt: t0 + i * 1000 }),
    );
    for (const r of records) await ledger.append(r);
    await ledger.close();
    expect((await segments(dep)).map((s) => s.state)).toEqual(Array(12).fill('sealed'));
    // The same blob store, counting the blobs read; a fresh cache each time, so every read shows.
    const read: string[] = [];
    const counted = new Proxy(blobs, {
      get(target, prop) {
        if (prop === 'get')
          return (key: string) => {
            read.push(key);
            return target.get(key);
          };
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const reader = () => {
      read.length = 0;
      return createSegmentReader({
        db: get().db,
        blobs: counted,
        cacheDir: mkdtempSync(path.join(dir, 'c-')),
      });
    };
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
    const at = (i: number) => records[i] as (typeof records)[number];

    const newest = await reader().page({ deploymentIds: [dep], order: 'newest', limit: 3 });
    expect(ids(newest)).toEqual([at(59).id, at(58).id, at(57).id]);
    expect(read).toHaveLength(1);

    const past = await reader().page({
      deploymentIds: [dep],
      order: 'newest',
      limit: 7,
      after: { servedAt: at(42).servedAt, id: at(42).id },
    });
    expect(ids(past)).toEqual([41, 40, 39, 38, 37, 36, 35].map((i) => at(i).id));
    expect(read).toHaveLength(2);

    const oldest = await reader().page({
      deploymentIds: [dep],
      order: 'oldest',
      limit: 4,
      since: t0 + 12_000,
    });
    expect(ids(oldest)).toEqual([12, 13, 14, 15].map((i) => at(i).id));
    expect(read).toHaveLength(2);

    // Segments 2..9 lie wholly inside [10 s, 50 s): their index rows count them.
    expect(await reader().count({ deploymentIds: [dep], since: t0 + 10_000, until: t0 + 50_000 })).toBe(40);
    expect(read).toHaveLength(0);
    // Only the partly covered segment (10..14) is read.
    expect(await reader().count({ deploymentIds: [dep], since: t0 + 12_000, until: t0 + 50_000 })).toBe(38);
    expect(read).toHaveLength(1);
    // A row-level condition counts in DuckDB, right all the same.
    expect(await reader().count({ deploymentIds: [dep], since: t0 + 12_000, failed: 'exclude' })).toBe(48);

    // Many ids at once (feedback): one index query, and only the segments that hold one of them.
    const unknown = newId('pred');
    const found = await reader().findMany([at(57).id, unknown, at(3).id]);
    expect(ids(found).sort()).toEqual([at(3).id, at(57).id].sort());
    expect(read).toHaveLength(2);
    expect(await reader().findMany([unknown])).toEqual([]);
    expect(read).toHaveLength(0);
  });

  it('after a crash, recovery cuts the torn tail and seals every acknowledged prediction', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const crashed = openLedger(dir, { mode: 'async' });
    const acked = Array.from({ length: 6 }, () => makeRecord({ deploymentId: dep }));
    for (const r of acked) await crashed.append(r);
    await crashed.flush();
    // kill -9: the ledger is never closed, and half a frame was being written.
    const [open] = await segments(dep);
    const torn = encodeFrame([packRecord(makeRecord({ deploymentId: dep }))]);
    appendFileSync(open?.path as string, torn.subarray(0, 20));
    // A new process starts: its ledger recovers the segment the dead one left (not its own).
    const writer = segmentWriter({
      db: get().db,
      blobs,
      audit: testAudit(get()),
      clock: systemClock,
      dir,
      live: new Set(),
    });
    const ledger = openPredictionLedger({ store: get(), clock: systemClock, writer });
    await ledger.close();
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    expect((await reader.rows({ deploymentIds: [dep] })).map((r) => r.id).sort()).toEqual(
      acked.map((r) => r.id),
    );
    expect(existsSync(open?.path as string)).toBe(false);
    const [recovered] = await segments(dep);
    expect(recovered).toMatchObject({ id: open?.id, state: 'sealed', row_count: 6 });
  });

  it('an open segment left by the previous version (SXPLOG01) is recovered and sealed with its rows', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    // A crashed process of this version opened the segment (its index row and file) ...
    const crashed = openLedger(dir, { mode: 'async' });
    await crashed.append(makeRecord({ deploymentId: dep }));
    await crashed.flush();
    const [open] = await segments(dep);
    // ... and its file holds what the previous version wrote: JSON frames of legacy entries.
    const t = Date.UTC(2026, 1, 2);
    const legacy = [
      [2, dep, 'mv_old', 'credit', 1, null, 'champion', t, null, 77, null, null, null],
      ['pred_old_a', '{"age":1}', '{"prediction":1}', null, 'pred_old_b', '{"age":2}', 'null', null],
    ].flat();
    writeFileSync(
      open?.path as string,
      Buffer.concat([
        LEGACY_SEGMENT_MAGIC,
        encodeLegacyFrame([legacy]),
        encodeLegacyFrame([legacy]).subarray(0, 9),
      ]),
    );
    const writer = segmentWriter({
      db: get().db,
      blobs,
      audit: testAudit(get()),
      clock: systemClock,
      dir,
      live: new Set(),
    });
    await openPredictionLedger({ store: get(), clock: systemClock, writer }).close();
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    const rows = await reader.rows({ deploymentIds: [dep] });
    expect(rows.map((r) => [r.id, r.inputs, r.outputs, r.latency_us])).toEqual([
      ['pred_old_a', '{"age":1}', '{"prediction":1}', 77],
      ['pred_old_b', '{"age":2}', 'null', 77],
    ]);
    expect((await segments(dep))[0]).toMatchObject({ id: open?.id, state: 'sealed', row_count: 2 });
  });

  it('recovery leaves a segment it cannot read open, untouched, and seals the others', async () => {
    const [depA, depB] = [newId('dep'), newId('dep')];
    const { dir } = fresh();
    const crashed = openLedger(dir, { mode: 'async' });
    await crashed.append(makeRecord({ deploymentId: depA }));
    await crashed.append(makeRecord({ deploymentId: depB }));
    await crashed.flush();
    const [openA] = await segments(depA);
    // A file a newer release wrote (after a downgrade): its acknowledged rows must not be cut away.
    const bytes = readFileSync(openA?.path as string);
    bytes.write('SXPLOG99', 0, 'latin1');
    writeFileSync(openA?.path as string, bytes);
    const writer = segmentWriter({
      db: get().db,
      blobs,
      audit: testAudit(get()),
      clock: systemClock,
      dir,
      live: new Set(),
    });
    await openPredictionLedger({ store: get(), clock: systemClock, writer }).close();
    expect((await segments(depA))[0]).toMatchObject({ id: openA?.id, state: 'open' });
    expect(readFileSync(openA?.path as string).equals(bytes)).toBe(true);
    expect((await segments(depB))[0]).toMatchObject({ state: 'sealed', row_count: 1 });
  });

  it('prune drops whole sealed segments served before the time, audited, and says what it dropped', async () => {
    const dep = newId('dep');
    const { dir, cacheDir } = fresh();
    const ledger = openLedger(dir, { maxRows: 3 });
    const t0 = Date.UTC(2025, 0, 1);
    // Segments [t0, t0+2], [t0+3, t0+5], [t0+6, t0+7]: the cut at t0+4 falls inside the second.
    const records = Array.from({ length: 8 }, (_, i) => makeRecord({ deploymentId: dep, servedAt: t0 + i }));
    for (const r of records) await ledger.append(r);
    await ledger.close();
    const [first] = await segments(dep);
    // Read once, so this host caches a copy of every sealed segment.
    const warm = createSegmentReader({ db: get().db, blobs, cacheDir });
    expect(await warm.rows({ deploymentIds: [dep] })).toHaveLength(8);
    const cachedFirst = cachedParquetPath(cacheDir, first?.blob_key as string);
    expect(existsSync(cachedFirst)).toBe(true);
    const pruner = createPredictionPruner({
      db: get().db,
      blobs,
      audit: testAudit(get()),
      clock: systemClock,
      cacheDir,
    });
    await expect(pruner.prune({ actor: 'ada', before: Date.now() + 60_000 })).rejects.toThrow(
      /before: must be a time in the past/,
    );
    expect((await segments(dep)).map((s) => s.state)).toEqual(['sealed', 'sealed', 'sealed']);
    const out = await pruner.prune({ actor: 'ada', before: t0 + 4 });
    expect(existsSync(cachedFirst)).toBe(false);
    expect(out).toMatchObject({
      segments: 1,
      rows: 3,
      firstServedAt: new Date(t0).toISOString(),
      lastServedAt: new Date(t0 + 2).toISOString(),
      deployments: [dep],
    });
    expect((await segments(dep)).map((s) => s.state)).toEqual(['pruned', 'sealed', 'sealed']);
    expect(await blobs.has(first?.blob_key as string)).toBe(false);
    const reader = createSegmentReader({ db: get().db, blobs, cacheDir });
    expect((await reader.rows({ deploymentIds: [dep] })).map((r) => r.id).sort()).toEqual(
      records.slice(3).map((r) => r.id),
    );
    expect(await reader.find(records[0]?.id as string)).toBeUndefined();
    const [entry] = await testAudit(get()).list({ entityType: 'prediction_log', entityId: 'segments' });
    expect(entry).toMatchObject({
      action: 'predictions.prune',
      actor: 'ada',
      details: { segmentIds: [first?.id] },
    });
    // Nothing older left: a second prune drops nothing.
    expect(await pruner.prune({ actor: 'ada', before: t0 + 4 })).toMatchObject({ segments: 0, rows: 0 });
  });
});
