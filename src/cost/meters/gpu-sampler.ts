import { execFile } from 'node:child_process';

/*
 * The one GPU sampler. It asks `nvidia-smi` (no native binding to load, works in any container that
 * has the driver's tools) every GPU_SAMPLE_MS for each device's utilisation and memory, and which
 * processes hold which device. A device counts towards a metered process while one of its pids holds
 * it; where per-process data is missing every device seen counts (a whole-machine job). A missing or
 * failing nvidia-smi never fails the metered work: figures stay empty and `note` says why.
 */

/** How often the sampler asks nvidia-smi (documented in docs/cost.md). */
export const GPU_SAMPLE_MS = 5_000;

export const QUERY_GPU_ARGS = [
  '--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,power.draw',
  '--format=csv,noheader,nounits',
];
export const QUERY_APPS_ARGS = [
  '--query-compute-apps=pid,gpu_uuid,used_memory',
  '--format=csv,noheader,nounits',
];

/** One device in one sample; a field nvidia-smi reports as [N/A] or [Not Supported] is null. */
export interface GpuDeviceSample {
  index: number;
  uuid: string;
  name: string;
  utilizationPct: number | null;
  memoryUsedMib: number | null;
  memoryTotalMib: number | null;
  powerDrawW: number | null;
}

/** One process on a device. */
export interface GpuProcessSample {
  pid: number;
  gpuUuid: string;
  usedMemoryMib: number | null;
}

/** A device's figures over a metered interval. */
export interface GpuDeviceUsage {
  index: number;
  uuid: string;
  name: string;
  /** Seconds the device was held by the metered process (sample intervals it was seen in). */
  seconds: number;
  utilizationAvg: number | null;
  memoryPeakMib: number | null;
}

export interface GpuUsage {
  devices: GpuDeviceUsage[];
  /** Device-seconds: the sum of devices' seconds. */
  gpuSeconds: number;
  /** The devices' model name (the price book's gpu_hour key); the first device's when mixed. */
  model: string | null;
  /** Why there are no GPU figures (nvidia-smi missing or failing), when there are none. */
  note?: string;
}

/** Runs nvidia-smi with arguments and returns its stdout; rejects on a missing binary or a failure. */
export type SmiExec = (args: string[]) => Promise<string>;

const NA = /^\[(N\/A|Not Supported|Unknown Error|Insufficient Permissions)\]$/i;

function num(field: string | undefined): number | null {
  const f = (field ?? '').trim();
  if (f === '' || NA.test(f)) return null;
  const n = Number(f);
  return Number.isFinite(n) ? n : null;
}

function lines(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.split(',').map((f) => f.trim()));
}

/** Thrown for output that is not the CSV asked for (a driver error printed on stdout, say). */
export class SmiOutputError extends Error {}

/** Parses `--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,power.draw` CSV. */
export function parseGpuQuery(text: string): GpuDeviceSample[] {
  return lines(text).map((f) => {
    const index = Number(f[0]);
    if (f.length !== 7 || !Number.isInteger(index) || !f[1]?.startsWith('GPU-'))
      throw new SmiOutputError(`nvidia-smi: unexpected output '${f.join(',').slice(0, 200)}'`);
    return {
      index,
      uuid: f[1],
      name: f[2] ?? '',
      utilizationPct: num(f[3]),
      memoryUsedMib: num(f[4]),
      memoryTotalMib: num(f[5]),
      powerDrawW: num(f[6]),
    };
  });
}

/** Parses `--query-compute-apps=pid,gpu_uuid,used_memory` CSV ("No running processes found" is none). */
export function parseComputeApps(text: string): GpuProcessSample[] {
  if (/no running (compute )?processes found/i.test(text)) return [];
  return lines(text).map((f) => {
    const pid = Number(f[0]);
    if (f.length !== 3 || !Number.isInteger(pid) || !f[1]?.startsWith('GPU-'))
      throw new SmiOutputError(`nvidia-smi: unexpected output '${f.join(',').slice(0, 200)}'`);
    return { pid, gpuUuid: f[1], usedMemoryMib: num(f[2]) };
  });
}

/** nvidia-smi through execFile, with a timeout so a hung driver cannot hold the sampler. */
export const systemSmi: SmiExec = (args) =>
  new Promise((resolve, reject) => {
    execFile('nvidia-smi', args, { timeout: 4_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT'
            ? 'nvidia-smi not found'
            : `nvidia-smi failed: ${(String(stdout) + String(stderr)).trim().split('\n')[0] || err.message}`;
        reject(new Error(why));
      } else resolve(String(stdout));
    });
  });

interface Acc {
  device: GpuDeviceSample;
  seconds: number;
  utilSum: number;
  utilN: number;
  memPeak: number | null;
}

/**
 * Accumulates samples into device usage. `pids` is the metered process tree at sample time; with
 * per-process data, only devices one of them holds count (and the process's own memory); without it,
 * every device counts.
 */
export function createGpuAccumulator() {
  const acc = new Map<string, Acc>();
  return {
    add(
      devices: GpuDeviceSample[],
      apps: GpuProcessSample[] | null,
      pids: ReadonlySet<number> | null,
      dtSeconds: number,
    ) {
      const mine = apps && pids ? apps.filter((a) => pids.has(a.pid)) : null;
      for (const d of devices) {
        const held = mine ? mine.filter((a) => a.gpuUuid === d.uuid) : null;
        if (held && held.length === 0) continue;
        const mem = held
          ? held.reduce<number | null>(
              (s, a) => (a.usedMemoryMib === null ? s : (s ?? 0) + a.usedMemoryMib),
              null,
            )
          : d.memoryUsedMib;
        const a = acc.get(d.uuid) ?? { device: d, seconds: 0, utilSum: 0, utilN: 0, memPeak: null };
        a.seconds += dtSeconds;
        if (d.utilizationPct !== null) {
          a.utilSum += d.utilizationPct;
          a.utilN++;
        }
        if (mem !== null) a.memPeak = Math.max(a.memPeak ?? 0, mem);
        acc.set(d.uuid, a);
      }
    },
    result(note?: string): GpuUsage {
      const devices = [...acc.values()]
        .sort((x, y) => x.device.index - y.device.index)
        .map((a) => ({
          index: a.device.index,
          uuid: a.device.uuid,
          name: a.device.name,
          seconds: a.seconds,
          utilizationAvg: a.utilN ? a.utilSum / a.utilN : null,
          memoryPeakMib: a.memPeak,
        }));
      return {
        devices,
        gpuSeconds: devices.reduce((s, d) => s + d.seconds, 0),
        model: devices[0]?.name ?? null,
        ...(note !== undefined && devices.length === 0 ? { note } : {}),
      };
    },
  };
}

export interface GpuSamplerOptions {
  exec?: SmiExec;
  intervalMs?: number;
  /** The metered process tree now; undefined counts every device (an in-process attempt). */
  pids?: () => number[];
  now?: () => number;
}

/**
 * Samples until stopped. Each sample's devices are counted for the time since the previous sample
 * (the first for the time since start), so a run shorter than one interval still gets its seconds
 * from the final sample taken at stop. Samples never overlap: a slow nvidia-smi delays the next one.
 */
export function sampleGpus(o: GpuSamplerOptions = {}): { stop(): Promise<GpuUsage> } {
  const exec = o.exec ?? systemSmi;
  const now = o.now ?? Date.now;
  const acc = createGpuAccumulator();
  let last = now();
  let note: string | undefined;
  let disabled = false;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const sample = async () => {
    if (disabled) return;
    try {
      const devices = parseGpuQuery(await exec(QUERY_GPU_ARGS));
      if (devices.length === 0) {
        note = 'nvidia-smi reported no devices';
        disabled = true;
        return;
      }
      let apps: GpuProcessSample[] | null = null;
      try {
        apps = parseComputeApps(await exec(QUERY_APPS_ARGS));
      } catch {
        // Without per-process data every device counts; the device figures are still right.
      }
      const t = now();
      const pids = o.pids ? new Set(o.pids()) : null;
      acc.add(devices, apps, pids, Math.max(0, (t - last) / 1000));
      last = t;
    } catch (err) {
      // One failure disables the sampler: a missing binary will not appear mid-run, and a failing
      // driver should not be asked again every few seconds.
      note = err instanceof Error ? err.message : String(err);
      disabled = true;
    }
  };
  const loop = () => {
    inFlight = sample().finally(() => {
      if (!disabled && timer !== undefined) timer = setTimeout(loop, o.intervalMs ?? GPU_SAMPLE_MS).unref();
    });
  };
  timer = setTimeout(loop, 0).unref();
  return {
    async stop() {
      const t = timer;
      timer = undefined;
      if (t) clearTimeout(t);
      await inFlight;
      await sample();
      return acc.result(note);
    },
  };
}
