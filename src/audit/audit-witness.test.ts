import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileWitness } from './audit-witness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-witness-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const record = (seq: number) => ({ seq, hash: 'h'.repeat(64), checkpointSeq: 0, mac: 'm'.repeat(64) });

describe('the file witness', () => {
  it('reads back what it last wrote, a shorter record over a longer one included', () => {
    const file = path.join(dir, 'nested', 'a.json');
    const w = createFileWitness(file);
    expect(w.read()).toBeUndefined();
    w.write({ ...record(123_456_789), hash: 'x'.repeat(200) });
    w.write(record(7));
    expect(w.read()).toEqual(record(7));
    expect(createFileWitness(file).read()).toEqual(record(7));
  });

  it('a file left longer than one block (hand-written, or by an older version) is cut to the new record', () => {
    const file = path.join(dir, 'b.json');
    fs.writeFileSync(file, `${JSON.stringify(record(1))}${' '.repeat(5000)}\n`);
    const w = createFileWitness(file);
    expect(w.read()).toEqual(record(1));
    w.write(record(2));
    expect(fs.statSync(file).size).toBeLessThan(1024);
    expect(w.read()).toEqual(record(2));
  });
});
