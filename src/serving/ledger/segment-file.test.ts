import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newIds } from '../../core/ids.js';
import { packBatch } from './prediction-row.js';
import {
  cutTornTail,
  encodeFrame,
  openSegmentAppender,
  readSegmentFile,
  SEGMENT_MAGIC,
} from './segment-file.js';

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

describe('segment file', () => {
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

  it('a file cut inside its header holds nothing and gets its header back', async () => {
    const file = path.join(dir, 'd.seg');
    writeFileSync(file, SEGMENT_MAGIC.subarray(0, 3));
    const read = readSegmentFile(file);
    expect(read).toEqual({ groups: [], validBytes: 0, torn: true });
    await cutTornTail(file, read);
    expect(readFileSync(file).equals(SEGMENT_MAGIC)).toBe(true);
  });
});
