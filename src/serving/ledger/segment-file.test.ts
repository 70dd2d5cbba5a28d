import {
  appendFileSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { newIds } from '../../core/ids.js';
import { flattenRows, type LegacyEntry, packBatch } from './prediction-row.js';
import {
  cutTornTail,
  encodeFrame,
  encodeLegacyFrame,
  LEGACY_SEGMENT_MAGIC,
  openSegmentAppender,
  readSegmentFile,
  SEGMENT_MAGIC,
  SEGMENT_SYNCED_WRITES,
} from './segment-file.js';
import { rowsOfGroups } from './segment-parquet.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sextant-segfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const group = (n: number) => [
  packBatch({
    ids: newIds('pred', n),
    deploymentId: 'dep_x',
    modelVersionId: 'mv_x',
    model: 'm',
    version: 1,
    alias: null,
    role: 'champion',
    servedAt: Date.UTC(2026, 0, 1),
    requestKey: null,
    inputs: Array.from({ length: n }, (_, i) => ({ x: i })),
    outputs: Array.from({ length: n }, () => ({ prediction: 1 })),
    latencyUs: 5,
    shadow: null,
  }),
];

/** The open flags of this process's descriptor on `file`, from /proc (Linux); undefined when none is open. */
function openFlags(file: string): number | undefined {
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed while listing
    }
    if (target !== file) continue;
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return flags ? Number.parseInt(flags[1]!, 8) : undefined;
  }
  return undefined;
}

describe('segment file', () => {
  it.runIf(process.platform === 'linux')(
    'on Linux a new and a reopened segment are both written through O_DSYNC (an append is on disk when it resolves)',
    async () => {
      expect(SEGMENT_SYNCED_WRITES).toBe(true);
      const file = path.join(dir, 'dsync.seg');
      const a = await openSegmentAppender(file);
      await a.append(encodeFrame(group(2)));
      expect((openFlags(file) ?? 0) & constants.O_DSYNC).toBe(constants.O_DSYNC);
      await a.close();
      const b = await openSegmentAppender(file, statSync(file).size);
      expect((openFlags(file) ?? 0) & constants.O_DSYNC).toBe(constants.O_DSYNC);
      await b.append(encodeFrame(group(1)));
      await b.close();
      expect(openFlags(file)).toBeUndefined();
      expect(readSegmentFile(file).groups).toHaveLength(2);
    },
  );

  it('reads back every appended group, in order', async () => {
    const file = path.join(dir, 'a.seg');
    const a = await openSegmentAppender(file);
    const groups = [group(3), group(1), group(32)];
    for (const g of groups) await a.append(encodeFrame(g));
    await a.close();
    const got = readSegmentFile(file);
    expect(got.torn).toBe(false);
    expect(got.groups).toEqual(groups);
    expect(got.validBytes).toBe(statSync(file).size);
  });

  it('a torn last frame is detected and cut; the acknowledged frames before it stay', async () => {
    const file = path.join(dir, 'b.seg');
    const a = await openSegmentAppender(file);
    const kept = [group(2), group(4)];
    for (const g of kept) await a.append(encodeFrame(g));
    await a.close();
    const whole = statSync(file).size;
    // A frame cut half-way through (kill -9 between write and fdatasync).
    const torn = encodeFrame(group(8));
    appendFileSync(file, torn.subarray(0, torn.length - 7));
    const read = readSegmentFile(file);
    expect(read.torn).toBe(true);
    expect(read.groups).toEqual(kept);
    expect(read.validBytes).toBe(whole);
    await cutTornTail(file, read);
    expect(statSync(file).size).toBe(whole);
    // The segment resumes after the cut.
    const b = await openSegmentAppender(file, whole);
    const more = group(1);
    await b.append(encodeFrame(more));
    await b.close();
    expect(readSegmentFile(file).groups).toEqual([...kept, more]);
  });

  it('a frame whose bytes do not match its checksum ends the readable part', async () => {
    const file = path.join(dir, 'c.seg');
    const a = await openSegmentAppender(file);
    const first = group(2);
    await a.append(encodeFrame(first));
    await a.append(encodeFrame(group(2)));
    await a.close();
    const bytes = readFileSync(file);
    const at = bytes.length - 3;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const read = readSegmentFile(file);
    expect(read.groups).toEqual([first]);
    expect(read.torn).toBe(true);
  });

  it('a whole header of another version is refused, not cut: its acknowledged frames stay on disk', () => {
    const file = path.join(dir, 'e.seg');
    const bytes = Buffer.concat([Buffer.from('SXPLOG99', 'latin1'), encodeFrame(group(2)).subarray(0)]);
    writeFileSync(file, bytes);
    expect(() => readSegmentFile(file)).toThrow(/not a segment file this version can read .*SXPLOG99/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('a frame whose checksum holds but which does not decode is an error, not a torn tail', async () => {
    const file = path.join(dir, 'f.seg');
    const a = await openSegmentAppender(file);
    await a.append(encodeFrame(group(2)));
    // A whole frame, checksummed, whose payload is no entry this version knows (e.g. a newer format).
    const payload = Buffer.alloc(64, 0x5a);
    const frame = Buffer.alloc(8 + payload.length);
    frame.writeUInt32LE(payload.length, 0);
    frame.writeUInt32LE(crc32(payload), 4);
    payload.copy(frame, 8);
    await a.append(frame);
    await a.close();
    expect(() => readSegmentFile(file)).toThrow(/segment frame at byte \d+ does not decode/);
  });

  it('a file cut inside its header holds nothing and gets its header back', async () => {
    const file = path.join(dir, 'd.seg');
    writeFileSync(file, SEGMENT_MAGIC.subarray(0, 3));
    const read = readSegmentFile(file);
    expect(read).toEqual({ groups: [], validBytes: 0, torn: true });
    await cutTornTail(file, read);
    expect(readFileSync(file).equals(SEGMENT_MAGIC)).toBe(true);
  });

  it('an open segment of the previous version (SXPLOG01, JSON frames) is still read, cut and sealed as rows', async () => {
    const file = path.join(dir, 'legacy.seg');
    // The old packing: [rows, shared columns..., then id, inputs, outputs, shadow_outputs per row].
    const legacy: LegacyEntry = [
      2,
      'dep_old',
      'mv_old',
      'credit',
      2,
      'champion',
      'champion',
      Date.UTC(2025, 5, 1),
      'req-1',
      640,
      'mv_shadow',
      null,
      null,
      'pred_a',
      '{"age":41,"region":"north"}',
      '{"prediction":1}',
      '{"prediction":0}',
      'pred_b',
      '{"age":7,"region":"s\u00fcd"}',
      '{"prediction":0}',
      null,
    ];
    const frame = encodeLegacyFrame([legacy]);
    writeFileSync(file, Buffer.concat([LEGACY_SEGMENT_MAGIC, frame, frame.subarray(0, 11)]));
    const read = readSegmentFile(file);
    expect(read.torn).toBe(true);
    expect(read.groups).toEqual([[legacy]]);
    await cutTornTail(file, read);
    expect(readFileSync(file).subarray(0, 8).equals(LEGACY_SEGMENT_MAGIC)).toBe(true);
    const rows = rowsOfGroups(readSegmentFile(file).groups);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toEqual({
      id: 'pred_b',
      deployment_id: 'dep_old',
      model_version_id: 'mv_old',
      model: 'credit',
      version: 2,
      alias: 'champion',
      role: 'champion',
      served_at: Date.UTC(2025, 5, 1),
      request_key: 'req-1',
      inputs: '{"age":7,"region":"s\u00fcd"}',
      outputs: '{"prediction":0}',
      latency_us: 640,
      shadow_version_id: 'mv_shadow',
      shadow_outputs: null,
      shadow_error: null,
      error: null,
    });
    // Nothing appends binary frames to it: it is sealed as it is.
    await expect(openSegmentAppender(file, statSync(file).size)).rejects.toThrow(
      /not a segment of this version/,
    );
  });

  it('binary frames read back as the rows they were packed from', async () => {
    const file = path.join(dir, 'rows.seg');
    const a = await openSegmentAppender(file);
    const groups = [group(3), group(2)];
    for (const g of groups) await a.append(encodeFrame(g));
    await a.close();
    expect(readFileSync(file).subarray(0, 8).toString('latin1')).toBe('SXPLOG02');
    const rows = rowsOfGroups(readSegmentFile(file).groups);
    expect(rows.map((r) => r.inputs)).toEqual(['{"x":0}', '{"x":1}', '{"x":2}', '{"x":0}', '{"x":1}']);
    expect(flattenRows(readSegmentFile(file).groups.flat())).toEqual(flattenRows(groups.flat()));
  });
});
