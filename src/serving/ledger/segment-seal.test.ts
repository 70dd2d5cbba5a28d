import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { LocalBlobStore } from '../../blobs/index.js';
import { systemClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { BACKGROUND_NICENESS, currentThreadId } from '../../core/thread-priority.js';
import { lit, withConnection } from '../../data/index.js';
import type { Store } from '../../store/index.js';
import { makeRecord, testAudit } from './ledger-fixtures.contract.js';
import { openPredictionLedger } from './prediction-ledger.js';
import { packBatch, packRecord } from './prediction-row.js';
import { insertOpenSegment } from './segment.repo.js';
import { encodeFrame, SEGMENT_MAGIC } from './segment-file.js';
import { readParquetRows } from './segment-parquet.js';
import { buildSealedSegment } from './segment-seal-parquet.js';
import { acquireSegmentSealer } from './segment-sealer.js';
import { recoverOpenSegments, SEGMENT_HOST, sealSegmentFile, segmentWriter } from './segment-writer.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sextant-seal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A segment file of `rows` predictions, eight a frame (as group commits write them). */
function writeSegment(file: string, deploymentId: string, rows: number): string[] {
  const frames: Buffer[] = [SEGMENT_MAGIC];
  const ids: string[] = [];
  const t0 = Date.UTC(2026, 5, 1);
  for (let at = 0; at < rows; at += 8) {
    const group = Array.from({ length: Math.min(8, rows - at) }, (_, i) => {
      const r = makeRecord({ deploymentId, servedAt: t0 + at + i });
      ids.push(r.id);
      return packRecord(r);
    });
    frames.push(encodeFrame(group));
  }
  writeFileSync(file, Buffer.concat(frames));
  return ids;
}

it("a sealed segment's typed input columns hold what its inputs JSON reads back as: -0 as 0, records of other keys included", async () => {
  // One request's records: the third has keys of its own (it travels as its own JSON text), the others
  // columnar (x an all-number column holding -0); then a record of one row in a frame of its own.
  const inputs: Record<string, unknown>[] = [
    { x: -0, s: 'a', b: true },
    { x: 1.5, s: 'b', b: false },
    { s: 'c', x: 2 ** 53 + 2, b: true, extra: [1] },
    { x: 0.1 + 0.2, s: 'd', b: false },
  ];
  const r = makeRecord({ deploymentId: newId('dep') });
  const batch = packBatch({
    ...r,
    ids: inputs.map(() => newId('pred')),
    inputs,
    outputs: inputs.map(() => r.outputs),
    shadow: null,
  });
  const single = packRecord(makeRecord({ deploymentId: r.deploymentId, inputs: { x: -0, s: 'e', b: true } }));
  const dir = mkdtempSync(path.join(root, 'typed-'));
  const file = path.join(dir, 'seg');
  writeFileSync(file, Buffer.concat([SEGMENT_MAGIC, encodeFrame([batch]), encodeFrame([single])]));
  const built = await buildSealedSegment(file, dir);
  const rows = await withConnection(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT id, "input:x", "input:s", "input:b" FROM read_parquet(${lit(built.parquet as string)}, file_row_number = true) ORDER BY file_row_number`,
      )
    ).getRowObjectsJS(),
  );
  // The inputs as a reader gets them (stored, or rebuilt from the typed columns).
  const texts = new Map((await readParquetRows([built.parquet as string], {})).map((r) => [r.id, r.inputs]));
  expect(rows).toHaveLength(5);
  for (const row of rows) {
    const logged = JSON.parse(texts.get(row.id as string) as string) as Record<string, unknown>;
    expect(Object.is(row['input:x'], logged.x)).toBe(true);
    expect([row['input:s'], row['input:b']]).toEqual([logged.s, logged.b]);
  }
  expect(rows.map((row) => row['input:x'])).toEqual([0, 1.5, 2 ** 53 + 2, 0.1 + 0.2, 0]);
});

describeEachBackend('sealing prediction log segments', (get: () => Store) => {
  const blobs = new LocalBlobStore(path.join(root, `blobs-${Math.random().toString(36).slice(2)}`));
  const segmentRow = (id: string) =>
    get().db.selectFrom('prediction_segments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const openSegment = async (rows: number) => {
    const dep = newId('dep');
    const id = newId('pseg');
    const file = path.join(mkdtempSync(path.join(root, 'seg-')), `${id}.seg`);
    const ids = writeSegment(file, dep, rows);
    // Owned by a process that is gone (pid 0): recovery may seal it.
    await insertOpenSegment({
      tx: get().db,
      id,
      deploymentId: dep,
      path: file,
      host: `${SEGMENT_HOST}/0`,
      createdAt: 1,
    });
    return { dep, id, file, ids };
  };
  const deps = () => ({ db: get().db, blobs, audit: testAudit(get()), clock: systemClock });

  it('a large segment is decoded and written as Parquet in the seal thread: the event loop keeps turning meanwhile', async () => {
    const { id, file, ids } = await openSegment(20_000);
    const sealer = acquireSegmentSealer();
    let ticks = 0;
    let sealing = true;
    const tick = () => {
      ticks++;
      if (sealing) setImmediate(tick);
    };
    setImmediate(tick);
    try {
      const mine = currentThreadId();
      const before = mine === undefined ? undefined : os.getPriority(mine);
      const built = await sealSegmentFile({ ...deps(), sealer }, id, file);
      sealing = false;
      expect(built.threadId).not.toBe(threadId);
      // The seal thread runs at background priority on Linux (DuckDB's COPY with it); this thread's
      // own priority is untouched.
      expect(built.niceness).toBe(process.platform === 'linux' ? BACKGROUND_NICENESS : undefined);
      if (mine !== undefined) expect(os.getPriority(mine)).toBe(before);
      expect(built.summary.rowCount).toBe(20_000);
    } finally {
      sealing = false;
      await sealer.close();
    }
    // The rows were decoded and written by another thread (above), and this loop kept turning
    // throughout: a count, not a time, so a slow machine cannot fail it.
    expect(ticks).toBeGreaterThan(1_000);
    const row = await segmentRow(id);
    expect(row).toMatchObject({ state: 'sealed', row_count: 20_000, path: null });
    expect(existsSync(file)).toBe(false);
    // Rows in append order (the order of the file's frames), in row groups of about 10,000 rows.
    const parquet = blobs.pathOf(row.blob_key as string);
    const read = await withConnection(async (c) => ({
      ids: (
        await c.runAndReadAll(
          `SELECT id FROM read_parquet(${lit(parquet)}, file_row_number = true) ORDER BY file_row_number`,
        )
      ).getRowObjectsJS(),
      groups: (
        await c.runAndReadAll(
          `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${lit(parquet)}) ORDER BY 1`,
        )
      ).getRowObjectsJS(),
    }));
    expect(read.ids.map((r) => r.id)).toEqual(ids);
    expect(read.groups.map((g) => Number(g.row_group_num_rows))).toEqual([10_240, 9_760]);
  });

  it('a seal that fails in the seal thread leaves the segment open with its file, logged; recovery seals it later', async () => {
    const dep = newId('dep');
    const dir = mkdtempSync(path.join(root, 'seg-'));
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: 'durable',
      writer: segmentWriter({ ...deps(), dir, logger }),
    });
    const records = Array.from({ length: 5 }, () => makeRecord({ deploymentId: dep }));
    for (const r of records) await ledger.append(r);
    const [open] = await get()
      .db.selectFrom('prediction_segments')
      .selectAll()
      .where('deployment_id', '=', dep)
      .execute();
    const file = open?.path as string;
    // The thread cannot read the file (a folder stands in its place): the seal at close fails there.
    renameSync(file, `${file}.aside`);
    mkdirSync(file);
    await ledger.close();
    expect(await segmentRow(open?.id as string)).toMatchObject({ state: 'open', path: file });
    expect(warnings.join('\n')).toMatch(/sealing failed; the segment stays open/);
    expect(warnings.join('\n')).toMatch(/EISDIR/);

    rmSync(file, { recursive: true });
    renameSync(`${file}.aside`, file);
    const sealer = acquireSegmentSealer();
    try {
      const recovered = await recoverOpenSegments({ ...deps(), sealer, live: new Set() }, dep);
      expect(recovered).toEqual({ segments: 1, rows: 5 });
    } finally {
      await sealer.close();
    }
    expect(await segmentRow(open?.id as string)).toMatchObject({ state: 'sealed', row_count: 5 });
    expect(existsSync(file)).toBe(false);
  });

  it('a full segment waits to be sealed while the event loop is busy, is sealed once it is quiet, and a close seals at once', async () => {
    const dep = newId('dep');
    const dir = mkdtempSync(path.join(root, 'seg-'));
    const pacing = { checkMs: 30, busyShare: 0.5, maxWaiting: 16, maxWaitMs: 60_000 };
    const ledger = openPredictionLedger({
      store: get(),
      clock: systemClock,
      mode: 'durable',
      writer: segmentWriter({ ...deps(), dir, maxRows: 3, pacing }),
    });
    const states = async () =>
      (
        await get()
          .db.selectFrom('prediction_segments')
          .select(['state'])
          .where('deployment_id', '=', dep)
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      ).map((r) => r.state);
    /** Keeps the event loop busy in 20 ms blocks for `ms`. */
    const busy = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const until = Date.now() + 20;
        while (Date.now() < until) {
          // Spin.
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    try {
      for (let i = 0; i < 3; i++) await ledger.append(makeRecord({ deploymentId: dep }));
      // The third row filled the segment: closed, its seal queued, and the loop busy from here on.
      await busy(600);
      expect(await states()).toEqual(['open']);
      // Quiet: sealed within a few checks.
      for (let i = 0; i < 200 && (await states())[0] !== 'sealed'; i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await states()).toEqual(['sealed']);

      // Three more rows fill a second segment; busy again, then a close: sealed without a quiet moment.
      for (let i = 0; i < 3; i++) await ledger.append(makeRecord({ deploymentId: dep }));
      const closing = ledger.close();
      await busy(100);
      await closing;
      expect(await states()).toEqual(['sealed', 'sealed']);
    } finally {
      await ledger.close();
    }
  });

  it('a seal thread that dies mid-seal fails that seal only: the next seal starts a new thread', async () => {
    const { id, file } = await openSegment(4_000);
    const dying = acquireSegmentSealer();
    const out = mkdtempSync(path.join(root, 'out-'));
    const build = dying.build(file, out);
    // The last user closing the thread ends it, the build in flight with it.
    await dying.close();
    await expect(build).rejects.toThrow(/seal thread exited/);
    expect(await segmentRow(id)).toMatchObject({ state: 'open' });
    const sealer = acquireSegmentSealer();
    try {
      const built = await sealSegmentFile({ ...deps(), sealer }, id, file);
      expect(built.summary.rowCount).toBe(4_000);
    } finally {
      await sealer.close();
    }
    expect(await segmentRow(id)).toMatchObject({ state: 'sealed', row_count: 4_000 });
  });
});
