/*
 * The GPU bill story's quarter of history: three 30-day periods of sweeps, research runs and two
 * GPU deployments, recorded through the paths real work takes: runs, their tags and params through
 * the tracking API (as a sweep or an MLflow client logs them), usage through the usage service the
 * meters report to (a record with GPU devices, as the GPU sampler fills it; hourly deployment records
 * with the requests served, as the deployment meter writes them). The GPU figures are SIMULATED:
 * this machine has no GPU. Each record says so in its notes.
 *
 * The shape of it: a steady, busy scoring deployment; a tuning sweep each period, with median early
 * stopping in the first two and none in the last, where it also grew to 64 trials; a research
 * experiment that ran 10, 12 and then 30 runs; and a new assistant deployment in the last period that
 * mostly served nothing.
 */
import type { Workspace } from '../src/app/index.js';
import type { SextantApi } from '../src/client/index.js';
import type { RecordUsageInput } from '../src/cost/index.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const PERIOD = 30 * DAY;
const ACTOR = 'local';
const A100 = 'NVIDIA A100-SXM4-80GB';
const H100 = 'NVIDIA H100 80GB HBM3';
const T4 = 'Tesla T4';
const SIMULATED = 'simulated GPU usage (story: the doubled GPU bill); this machine has no GPU';
const GIB = 2 ** 30;

export interface HistoryNames {
  tuning: string;
  research: string;
  assistant: { id: string; name: string; modelVersionId: string };
  scoring: { id: string; name: string; modelVersionId: string };
}

/** The sweeps of the quarter: when they start (before the anchor), trials, and how many stopped early. */
export const SWEEPS = [
  { name: 'tune-nightly-1', startsBefore: 80 * DAY, trials: 16, stopped: 9, earlyStop: 'median' },
  { name: 'tune-nightly-2', startsBefore: 50 * DAY, trials: 16, stopped: 10, earlyStop: 'median' },
  { name: 'tune-nightly-3', startsBefore: 20 * DAY, trials: 64, stopped: 0, earlyStop: 'none' },
] as const;
/** Research runs per period, oldest period first. */
export const RESEARCH_RUNS = [10, 12, 30] as const;
/** A trial holds 4 GPUs for 2 hours, or 30 minutes when the median rule stops it. */
const TRIAL_GPUS = 4;
const TRIAL_MS = 2 * HOUR;
const STOPPED_MS = HOUR / 2;
/** A research run holds one H100 for 6 hours. */
const RESEARCH_MS = 6 * HOUR;
/** The assistant served requests in 1 hour out of 10: 90% of its hours without any. */
const ASSISTANT_BUSY_EVERY = 10;

/** Four GPU devices held for `ms`, as the sampler reports them. */
function devices(name: string, count: number, ms: number, seed: string, util: number) {
  return Array.from({ length: count }, (_, index) => ({
    index,
    uuid: `GPU-sim-${seed}-${index}`,
    name,
    seconds: ms / 1000,
    utilizationAvg: util,
    memoryPeakMib: name === T4 ? 9_000 : 61_000,
  }));
}

function runUsage(runId: string, startedAt: number, ms: number, gpu: string, count: number, util: number) {
  return {
    kind: 'run',
    runId,
    startedAt,
    endedAt: startedAt + ms,
    host: 'gpu-node-sim',
    cpuSeconds: (ms / 1000) * 4 * 0.8,
    peakMemoryBytes: 24 * GIB,
    gpuDevices: devices(gpu, count, ms, runId.slice(-8), util),
    notes: [SIMULATED],
  } satisfies RecordUsageInput;
}

/**
 * Records the quarter ending at `anchor`: the runs through the tracking API and every usage record
 * in one call to the usage service. Returns the ids of the sweeps' parent runs, oldest first.
 */
export async function recordQuarter(
  ws: Workspace,
  api: SextantApi,
  names: HistoryNames,
  anchor: number,
): Promise<string[]> {
  const tuning = await api.experiments.getByName(names.tuning);
  const research = await api.experiments.getByName(names.research);
  const usage: RecordUsageInput[] = [];
  const sweepIds: string[] = [];
  const tags = { 'sextant.story': 'gpu-bill' };

  for (const s of SWEEPS) {
    const start = anchor - s.startsBefore;
    const earlyStop = s.earlyStop === 'median' ? 'median(warmup=10,min_trials=2)' : 'none';
    const parent = await api.runs.create({
      experimentId: tuning.id,
      name: s.name,
      startTime: start,
      tags: {
        ...tags,
        'sextant.sweep.role': 'parent',
        'sextant.trainer': 'gbdt',
        'mlflow.source.name': 'sextant sweep',
      },
    });
    await api.runs.logBatch(parent.id, {
      tags: [{ key: 'sextant.sweep', value: parent.id }],
      params: [
        { key: 'trials', value: String(s.trials) },
        { key: 'early_stop', value: earlyStop },
        { key: 'parallel', value: '4' },
      ],
    });
    // Four trials at a time. The median rule judges a trial against those before it, so the stopped
    // ones are the later trials.
    let end = start;
    for (let i = 0; i < s.trials; i++) {
      const isStopped = i >= s.trials - s.stopped;
      const ms = isStopped ? STOPPED_MS : TRIAL_MS;
      const at = start + Math.floor(i / 4) * TRIAL_MS;
      const trial = await api.runs.create({
        experimentId: tuning.id,
        name: `${s.name}-trial-${i + 1}`,
        startTime: at,
        tags: {
          ...tags,
          'mlflow.parentRunId': parent.id,
          'sextant.sweep': parent.id,
          'sextant.trial': String(i + 1),
          ...(isStopped ? { 'sextant.early_stopped': 'true' } : {}),
        },
      });
      await api.runs.update(trial.id, { status: 'FINISHED', endTime: at + ms });
      usage.push(runUsage(trial.id, at, ms, A100, TRIAL_GPUS, 88));
      end = Math.max(end, at + ms);
    }
    await api.runs.update(parent.id, { status: 'FINISHED', endTime: end });
    sweepIds.push(parent.id);
  }

  for (const [p, n] of RESEARCH_RUNS.entries()) {
    const periodStart = anchor - (3 - p) * PERIOD;
    for (let i = 0; i < n; i++) {
      const at = periodStart + Math.floor(((i + 0.5) * PERIOD) / n) - RESEARCH_MS / 2;
      const run = await api.runs.create({
        experimentId: research.id,
        name: `research-p${p + 1}-${i + 1}`,
        startTime: at,
        tags,
      });
      await api.runs.update(run.id, { status: 'FINISHED', endTime: at + RESEARCH_MS });
      usage.push(runUsage(run.id, at, RESEARCH_MS, H100, 1, 71));
    }
  }

  // Hourly deployment records, as the deployment meter writes them (one core allocated per process).
  const hourly = (d: HistoryNames['scoring'], gpu: string, from: number, served: (h: number) => number) => {
    for (let t = from, h = 0; t < anchor; t += HOUR, h++)
      usage.push({
        kind: 'deployment',
        deploymentId: d.id,
        modelVersionId: d.modelVersionId,
        startedAt: t,
        endedAt: t + HOUR,
        requestedCpus: 1,
        predictions: served(h),
        host: 'gpu-node-sim',
        gpuDevices: devices(gpu, 1, HOUR, d.name, served(h) ? 40 : 0),
        notes: [SIMULATED],
      });
  };
  // The scoring service is busy around the clock: a few hundred requests every hour.
  hourly(names.scoring, A100, anchor - 3 * PERIOD, (h) => 200 + ((h * 7919) % 600));
  // The assistant went live at the start of the last period and answered in one hour out of ten.
  hourly(names.assistant, T4, anchor - PERIOD, (h) => (h % ASSISTANT_BUSY_EVERY === 3 ? 1 + (h % 5) : 0));

  await ws.cost.usage.recordMany({ actor: ACTOR, records: usage });
  return sweepIds;
}
