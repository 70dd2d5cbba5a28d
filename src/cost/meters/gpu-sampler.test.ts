/*
 * Most fixtures (fixtures/README.md) are hand-written from nvidia-smi's documented CSV format; the
 * `*-h200*` ones were recorded on a real NVIDIA H200 (driver 580.159.04) while a CUDA process ran.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createGpuAccumulator,
  parseComputeApps,
  parseGpuQuery,
  QUERY_APPS_ARGS,
  QUERY_GPU_ARGS,
  type SmiExec,
  SmiOutputError,
  sampleGpus,
} from './gpu-sampler.js';

const fixture = (name: string) => fs.readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('nvidia-smi parsers on recorded output', () => {
  it('reads one device per line of a two-GPU machine', () => {
    const d = parseGpuQuery(fixture('query-gpu-2xa100.csv'));
    expect(d).toHaveLength(2);
    expect(d[0]).toEqual({
      index: 0,
      uuid: 'GPU-5b1c2f0e-8c3d-7a44-91e2-0d6f3a9b1c21',
      name: 'NVIDIA A100-SXM4-80GB',
      utilizationPct: 87,
      memoryUsedMib: 40213,
      memoryTotalMib: 81920,
      powerDrawW: 312.45,
    });
    expect(d[1]?.utilizationPct).toBe(0);
  });

  it('reads [N/A] and [Not Supported] fields as missing, not as zero', () => {
    const d = parseGpuQuery(fixture('query-gpu-na.csv'));
    expect(d[0]?.powerDrawW).toBeNull();
    expect(d[1]?.utilizationPct).toBeNull();
    expect(d[1]?.name).toBe('Tesla T4');
    expect(d[1]?.powerDrawW).toBe(27.81);
  });

  it('reads the processes on each device', () => {
    expect(parseComputeApps(fixture('query-compute-apps.csv'))).toEqual([
      { pid: 4242, gpuUuid: 'GPU-5b1c2f0e-8c3d-7a44-91e2-0d6f3a9b1c21', usedMemoryMib: 38912 },
      { pid: 5151, gpuUuid: 'GPU-9e0a7d13-2b4f-4c61-a8d5-77c1e2f04b9a', usedMemoryMib: null },
    ]);
    expect(parseComputeApps('No running processes found\n')).toEqual([]);
    expect(parseComputeApps('')).toEqual([]);
  });

  it('refuses a driver error printed instead of CSV', () => {
    expect(() => parseGpuQuery(fixture('driver-failed.txt'))).toThrow(SmiOutputError);
    expect(() => parseGpuQuery(fixture('no-devices.txt'))).toThrow(SmiOutputError);
  });
});

describe('output recorded on a real NVIDIA H200', () => {
  it('reads the idle and the busy device', () => {
    const [idle] = parseGpuQuery(fixture('query-gpu-h200-idle.csv'));
    const [busy] = parseGpuQuery(fixture('query-gpu-h200-busy.csv'));
    expect(idle).toMatchObject({ index: 0, name: 'NVIDIA H200', utilizationPct: 0, memoryUsedMib: 0 });
    expect(idle?.memoryTotalMib).toBe(143771);
    expect(busy).toMatchObject({ utilizationPct: 96, memoryUsedMib: 1011, powerDrawW: 691.21 });
    expect(busy?.uuid).toBe(idle?.uuid);
  });

  it('reads an empty process list (how that machine answers when idle) as no processes', () => {
    expect(parseComputeApps(fixture('query-compute-apps-h200-idle.txt'))).toEqual([]);
  });

  it('counts the device for the CUDA process holding it and not for another process', () => {
    const devices = parseGpuQuery(fixture('query-gpu-h200-busy.csv'));
    const apps = parseComputeApps(fixture('query-compute-apps-h200.csv'));
    expect(apps).toEqual([{ pid: 618, gpuUuid: devices[0]?.uuid, usedMemoryMib: 1002 }]);
    const holder = createGpuAccumulator();
    holder.add(devices, apps, new Set([618]), 5);
    expect(holder.result()).toMatchObject({ gpuSeconds: 5, model: 'NVIDIA H200' });
    expect(holder.result().devices[0]).toMatchObject({ utilizationAvg: 96, memoryPeakMib: 1002 });
    const other = createGpuAccumulator();
    other.add(devices, apps, new Set([619]), 5);
    expect(other.result().gpuSeconds).toBe(0);
  });
});

describe('GPU accumulation', () => {
  const devices = parseGpuQuery(fixture('query-gpu-2xa100.csv'));
  const apps = parseComputeApps(fixture('query-compute-apps.csv'));

  it('counts only the devices the metered process tree holds, with its own memory', () => {
    const acc = createGpuAccumulator();
    acc.add(devices, apps, new Set([4242, 1]), 5);
    acc.add(devices, apps, new Set([4242]), 5);
    const u = acc.result();
    expect(u.devices.map((d) => d.index)).toEqual([0]);
    expect(u.gpuSeconds).toBe(10);
    expect(u.devices[0]?.memoryPeakMib).toBe(38912);
    expect(u.devices[0]?.utilizationAvg).toBe(87);
    expect(u.model).toBe('NVIDIA A100-SXM4-80GB');
  });

  it('counts every device when there is no per-process data', () => {
    const acc = createGpuAccumulator();
    acc.add(devices, null, new Set([4242]), 5);
    expect(acc.result().gpuSeconds).toBe(10);
  });
});

describe('the sampler', () => {
  /** nvidia-smi answered from the fixtures, on a clock that moves 5 s per sample. */
  function recorded(): { exec: SmiExec; now: () => number; calls: string[][] } {
    let t = 0;
    const calls: string[][] = [];
    return {
      calls,
      now: () => t,
      exec: async (args) => {
        calls.push(args);
        if (args[0] === QUERY_GPU_ARGS[0]) {
          t += 5_000;
          return fixture('query-gpu-2xa100.csv');
        }
        return fixture('query-compute-apps.csv');
      },
    };
  }

  it('asks nvidia-smi the documented queries and sums the held device time', async () => {
    const r = recorded();
    const s = sampleGpus({ exec: r.exec, now: r.now, pids: () => [5151], intervalMs: 1 });
    await new Promise((res) => setTimeout(res, 30));
    const u = await s.stop();
    expect(r.calls[0]).toEqual(QUERY_GPU_ARGS);
    expect(r.calls[1]).toEqual(QUERY_APPS_ARGS);
    expect(u.devices.map((d) => d.index)).toEqual([1]);
    // Every sample after the first adds its 5 s; how many ran depends on the machine.
    expect(u.gpuSeconds % 5).toBe(0);
    expect(u.gpuSeconds).toBeGreaterThanOrEqual(5);
    expect(u.note).toBeUndefined();
  });

  it('goes on without GPU figures when nvidia-smi is missing, and says why', async () => {
    const s = sampleGpus({
      exec: async () => Promise.reject(new Error('nvidia-smi not found')),
      intervalMs: 1,
    });
    const u = await s.stop();
    expect(u).toEqual({ devices: [], gpuSeconds: 0, model: null, note: 'nvidia-smi not found' });
  });

  it('stops asking after the driver fails, and the note carries the failure', async () => {
    let calls = 0;
    const s = sampleGpus({
      exec: async () => {
        calls++;
        return fixture('driver-failed.txt');
      },
      intervalMs: 1,
    });
    await new Promise((res) => setTimeout(res, 20));
    const u = await s.stop();
    expect(calls).toBe(1);
    expect(u.note).toMatch(/NVIDIA-SMI has failed/);
  });

  it('on this machine, without or with a GPU, never throws', async () => {
    const u = await sampleGpus({ intervalMs: 50 }).stop();
    expect(u.devices.length > 0 || typeof u.note === 'string').toBe(true);
  });
});

describe('the sampler through a fake nvidia-smi on PATH (the real subprocess path)', () => {
  /** Puts an executable `nvidia-smi` script in a temp dir first on PATH for the test's duration. */
  async function withFakeSmi<T>(script: string, fn: () => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-smi-'));
    fs.writeFileSync(path.join(dir, 'nvidia-smi'), `#!/bin/sh\n${script}`, { mode: 0o755 });
    const before = process.env.PATH;
    process.env.PATH = `${dir}${path.delimiter}${before ?? ''}`;
    try {
      return await fn();
    } finally {
      process.env.PATH = before;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const fixturesDir = path.join(import.meta.dirname, 'fixtures');

  it('records the figures of the devices the metered pids hold', async () => {
    const script = `case "$1" in
  --query-gpu=*) cat '${fixturesDir}/query-gpu-2xa100.csv' ;;
  --query-compute-apps=*) cat '${fixturesDir}/query-compute-apps.csv' ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`;
    const u = await withFakeSmi(script, async () => {
      const s = sampleGpus({ pids: () => [4242], intervalMs: 10 });
      await new Promise((res) => setTimeout(res, 60));
      return s.stop();
    });
    expect(u.note).toBeUndefined();
    expect(u.model).toBe('NVIDIA A100-SXM4-80GB');
    expect(u.devices).toHaveLength(1);
    expect(u.devices[0]).toMatchObject({
      index: 0,
      uuid: 'GPU-5b1c2f0e-8c3d-7a44-91e2-0d6f3a9b1c21',
      utilizationAvg: 87,
      // The process's own memory on the device, not the device's total use.
      memoryPeakMib: 38912,
    });
    expect(u.gpuSeconds).toBeGreaterThan(0);
  });

  it('an nvidia-smi that exits non-zero leaves no GPU figures and the reason', async () => {
    const script = `cat '${fixturesDir}/driver-failed.txt'\nexit 9\n`;
    const u = await withFakeSmi(script, () => sampleGpus({ intervalMs: 10 }).stop());
    expect(u.devices).toEqual([]);
    expect(u.gpuSeconds).toBe(0);
    expect(u.note).toMatch(/^nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate/);
  });
});
