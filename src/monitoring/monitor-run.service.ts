import { toIso } from '../core/clock.js';
import { isAppError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { ColumnProfile } from '../data/tables/index.js';
import type { ModelVersion } from '../registry/index.js';
import { inTransaction } from '../store/index.js';
import type { MetricPointTable, MonitorRunTable, MonitorTable } from '../store/schema-monitoring.js';
import * as detectorStates from './detector-state.repo.js';
import {
  measureDetectors,
  measureEstimates,
  measureFairness,
  type NextDetector,
  type PriorDetector,
} from './measure-outcomes.js';
import { measurePerformance, positiveClass, taskOf } from './measure-performance.js';
import { measureComparison, measureQuality } from './measure-window.js';
import * as points from './metric-point.repo.js';
import type { MetricPoint } from './metric-point.schema.js';
import * as monitors from './monitor.repo.js';
import type { MonitorRun, MonitorRunResult } from './monitor.schema.js';
import { championOf, specOf } from './monitor.service.js';
import * as runs from './monitor-run.repo.js';
import type { MonitorSpec } from './monitor-spec.schema.js';
import type { MonitoringDeps } from './monitoring-deps.js';
import { PointSink } from './point-builder.js';
import { ensureReference } from './reference.service.js';
import { ensureCbpe } from './reference-cbpe.js';
import type { RawColumn, RawValue, ReferenceInput } from './stats/index.js';
import { inputColumn, inputNames, lastRows, readWindow, type VersionTraffic } from './window-traffic.js';

/*
 * One monitor run: a window of the deployment's prediction log, read through serving's scan, judged
 * per model version (champion, canary challenger, shadow challenger apart), its points stored with the
 * run's end in one transaction that also writes the audit entry and `monitor.run.completed`.
 * A window without traffic, or with too few rows, answers insufficient_data; it never alarms.
 */

export interface RunWindow {
  start: number;
  end: number;
  /** Count windows: the latest this many rows before `end`. */
  rows?: number;
}

/** The window of a run: the bounds given, else the last window of the spec before now. */
export function windowOf(spec: MonitorSpec, now: number, from?: number, to?: number): RunWindow {
  const end = to ?? now;
  if (spec.window.kind === 'count') {
    const start = from ?? 0;
    if (start >= end) throw new ValidationError('from: must be before to', { field: 'from' });
    return { start, end, rows: spec.window.rows };
  }
  const start = from ?? end - spec.window.ms;
  if (start >= end) throw new ValidationError('from: must be before to', { field: 'from' });
  return { start, end };
}

/** The window a schedule runs at `now`: the latest whole window, aligned to its length. */
export function scheduledWindow(spec: MonitorSpec, now: number): RunWindow {
  if (spec.window.kind === 'count') return { start: 0, end: now, rows: spec.window.rows };
  const end = Math.floor(now / spec.window.ms) * spec.window.ms;
  return { start: end - spec.window.ms, end };
}

export function toRun(r: MonitorRunTable): MonitorRun {
  return {
    id: r.id,
    monitorId: r.monitor_id,
    deploymentId: r.deployment_id,
    monitorVersion: Number(r.monitor_version),
    windowStart: toIso(Number(r.window_start)),
    windowEnd: toIso(Number(r.window_end)),
    status: r.status as MonitorRun['status'],
    trigger: r.trigger as MonitorRun['trigger'],
    rows: Number(r.rows),
    points: Number(r.points),
    error: r.error,
    startedAt: toIso(Number(r.started_at)),
    finishedAt: r.finished_at === null ? null : toIso(Number(r.finished_at)),
    createdBy: r.created_by,
  };
}

/** Input features to watch: the spec's, else the signature's inputs seen in traffic, else all inputs seen. */
function featuresOf(spec: MonitorSpec, version: ModelVersion, traffic: VersionTraffic): string[] {
  if (spec.features) return spec.features;
  const seen = inputNames(traffic.rows);
  const declared = (version.signature?.inputs ?? []).map((i) => i.name).filter((n) => seen.has(n));
  return declared.length > 0 ? declared : [...seen].sort();
}

export function createMonitorRunService(deps: MonitoringDeps) {
  const { db, audit, clock } = deps;

  /** A version by id within a model (shadows are known only by id on the rows). */
  async function versionOf(t: VersionTraffic): Promise<ModelVersion> {
    if (t.version !== undefined) return deps.versions.resolve(`${t.model}@${t.version}`);
    const { versions } = await deps.versions.list({ model: t.model, limit: 1000 });
    const v = versions.find((x) => x.id === t.modelVersionId);
    if (!v) throw new NotFoundError('model version', t.modelVersionId);
    return v;
  }

  async function measureVersion(
    monitor: MonitorTable,
    spec: MonitorSpec,
    sink: PointSink,
    cur: VersionTraffic,
    prev: VersionTraffic | undefined,
    version: ModelVersion,
    stateKey: string,
  ): Promise<NextDetector[]> {
    const rows = cur.rows;
    sink.add({
      metric: 'traffic.rows',
      value: rows.length,
      status: rows.length < spec.drift.minRows ? 'insufficient_data' : 'ok',
      details: { role: cur.role, minRows: spec.drift.minRows },
    });
    const reference = await ensureReference(deps, {
      monitor,
      spec,
      version,
      shadow: cur.role === 'shadow',
      override: undefined,
    });
    const profiles = new Map<string, ColumnProfile>(
      reference ? (JSON.parse(reference.profiles) as ColumnProfile[]).map((p) => [p.name, p]) : [],
    );
    const sample = reference?.sample
      ? (JSON.parse(reference.sample) as Record<string, RawColumn>)
      : undefined;
    const features = featuresOf(spec, version, cur);
    const column = (rs: VersionTraffic['rows'], f: string) => inputColumn(rs, f) as RawValue[];
    const positive = positiveClass(spec, rows);
    const outputs = (rs: VersionTraffic['rows']) =>
      new Map<string, RawColumn>([
        ['prediction', rs.map((r) => r.prediction)],
        ...(positive !== undefined && rs.some((r) => r.probabilities)
          ? [['score', rs.map((r) => r.probabilities?.[positive] ?? null)] as [string, RawColumn]]
          : []),
      ]);
    const current = new Map<string, RawColumn>(features.map((f) => [f, column(rows, f)]));
    // The reference of each feature: raw values when it has them (exact tests), else its stored profile.
    const refOf = (name: string): ReferenceInput | undefined => sample?.[name] ?? profiles.get(name);
    const trainingRefs = new Map<string, ReferenceInput>();
    for (const f of features) {
      const r = refOf(f);
      if (r !== undefined) trainingRefs.set(f, r);
    }
    const scope = sink.scope;

    if (spec.skew) {
      if (!reference)
        sink.insufficient('skew.share', 'the reference traffic has fewer rows than minRows so far');
      else {
        // Outputs have a reference only when it was taken from traffic (a training set has no predictions).
        const outRef = new Map<string, ReferenceInput>();
        const prediction = refOf('prediction');
        if (reference.source === 'traffic' && prediction !== undefined) outRef.set('prediction', prediction);
        const outCur = new Map([...outputs(rows)].filter(([k]) => outRef.has(k)));
        measureComparison(
          sink,
          scope,
          {
            kind: 'skew',
            label: `${reference.source} ${reference.source_ref}`,
            inputs: { reference: trainingRefs, current },
            outputs: { reference: outRef, current: outCur },
          },
          spec.drift,
        );
      }
    }
    if (spec.driftVsPrevious) {
      const before = prev?.rows ?? [];
      measureComparison(
        sink,
        scope,
        {
          kind: 'drift',
          label: `previous window (${before.length} rows)`,
          inputs: {
            reference: new Map(features.map((f) => [f, column(before, f)])),
            current,
          },
          outputs: { reference: outputs(before), current: outputs(rows) },
        },
        spec.drift,
      );
    }
    measureQuality(sink, scope, trainingRefs, current);
    measurePerformance(sink, spec, rows);
    measureFairness(sink, spec, rows);
    const prior = new Map<string, PriorDetector>(
      spec.detectors.length === 0
        ? []
        : (await detectorStates.listStates({ tx: db, monitorId: monitor.id, modelVersionId: stateKey })).map(
            (r) => [
              r.detector,
              { state: JSON.parse(r.state), rowsSeen: Number(r.rows_seen), windowEnd: Number(r.window_end) },
            ],
          ),
    );
    const next = measureDetectors(sink, spec, rows, prior);
    const calibration =
      spec.estimation && reference && taskOf(spec, rows) === 'classification'
        ? await ensureCbpe(deps, {
            reference,
            spec,
            version,
            deploymentId: monitor.deployment_id,
            trafficKey: stateKey,
            positive,
          })
        : undefined;
    measureEstimates(sink, spec, rows, calibration);
    return next;
  }

  async function measureAll(
    monitor: MonitorTable,
    spec: MonitorSpec,
    runId: string,
    w: RunWindow,
  ): Promise<{
    rows: number;
    points: MetricPoint[];
    versions: Map<string, ModelVersion>;
    detectors: { modelVersionId: string; next: NextDetector }[];
  }> {
    const span = w.end - w.start;
    const readFrom = w.rows === undefined ? w.start - span : w.start;
    // The spec's features and the protected attribute are all the inputs a run reads (none listed: all).
    const attribute = spec.protected?.attribute;
    const features = spec.features && [
      ...new Set([...spec.features, ...(attribute === undefined ? [] : [attribute])]),
    ];
    const all = await readWindow(deps.predictions, {
      deploymentId: monitor.deployment_id,
      since: readFrom,
      until: w.end,
      features,
    });
    const out: MetricPoint[] = [];
    const versions = new Map<string, ModelVersion>();
    const detectors: { modelVersionId: string; next: NextDetector }[] = [];
    let total = 0;
    for (const t of all.values()) {
      let cur: VersionTraffic;
      let prev: VersionTraffic;
      if (w.rows !== undefined) {
        cur = lastRows(t, w.rows);
        prev = lastRows(t, w.rows, w.rows);
      } else {
        cur = { ...t, rows: t.rows.filter((r) => r.servedAt >= w.start) };
        prev = { ...t, rows: t.rows.filter((r) => r.servedAt < w.start) };
      }
      if (cur.rows.length === 0) continue;
      if (t.role !== 'shadow') total += cur.rows.length;
      const version = await versionOf(t);
      versions.set(version.id, version);
      const start = w.rows !== undefined ? (cur.rows[0]?.servedAt ?? w.start) : w.start;
      const sink = new PointSink({
        monitorId: monitor.id,
        runId,
        deploymentId: monitor.deployment_id,
        modelVersionId: version.id,
        windowStart: start,
        windowEnd: w.end,
      });
      // A shadow's detectors are kept apart from its champion's (the same version may be both).
      const key = t.role === 'shadow' ? `shadow:${version.id}` : version.id;
      for (const next of await measureVersion(monitor, spec, sink, cur, prev, version, key))
        detectors.push({ modelVersionId: key, next });
      out.push(...sink.points);
    }
    if (out.length === 0) {
      // No traffic at all: say so for the version the deployment serves now, never a verdict.
      const version = await championOf(deps, await deps.deployments.get(monitor.deployment_id));
      versions.set(version.id, version);
      const sink = new PointSink({
        monitorId: monitor.id,
        runId,
        deploymentId: monitor.deployment_id,
        modelVersionId: version.id,
        windowStart: w.start,
        windowEnd: w.end,
      });
      sink.add({
        metric: 'traffic.rows',
        value: 0,
        status: 'insufficient_data',
        details: { reason: 'no predictions in the window' },
      });
      sink.insufficient('drift.share', 'no predictions in the window');
      sink.insufficient('performance.label_coverage', 'no predictions in the window');
      out.push(...sink.points);
    }
    return { rows: total, points: out, versions, detectors };
  }

  /** Runs one monitor over a window and stores its points; a failure is recorded on the run, then thrown. */
  async function run(input: {
    actor: string;
    monitorId: string;
    from?: number | undefined;
    to?: number | undefined;
    window?: RunWindow;
    trigger: 'schedule' | 'manual';
  }): Promise<MonitorRunResult> {
    const monitor = await monitorRow(input.monitorId);
    if (monitor.deleted_at !== null) throw new NotFoundError('monitor', input.monitorId);
    const spec = specOf(monitor);
    const now = clock.now();
    const w = input.window ?? windowOf(spec, now, input.from, input.to);
    const row: MonitorRunTable = {
      id: newId('mrun', now),
      monitor_id: monitor.id,
      deployment_id: monitor.deployment_id,
      monitor_version: Number(monitor.version),
      window_start: w.start,
      window_end: w.end,
      status: 'running',
      trigger: input.trigger,
      rows: 0,
      points: 0,
      error: null,
      started_at: now,
      finished_at: null,
      created_by: input.actor,
    };
    await runs.insertRun({ tx: db, row });
    let measured: Awaited<ReturnType<typeof measureAll>>;
    try {
      measured = await measureAll(monitor, spec, row.id, w);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await inTransaction(db, async (tx) => {
        await runs.finishRun({
          tx,
          id: row.id,
          status: 'failed',
          rows: 0,
          points: 0,
          error: message,
          at: clock.now(),
        });
        await audit.append(tx, {
          actor: input.actor,
          action: 'monitor.run.failed',
          entityType: 'monitor',
          entityId: monitor.id,
          details: { runId: row.id, error: isAppError(err) ? err.code : 'INTERNAL' },
        });
      });
      throw err;
    }
    const at = clock.now();
    const pointRows: MetricPointTable[] = measured.points.map((p) => {
      const v = measured.versions.get(p.modelVersionId) as ModelVersion;
      return {
        id: newId('mpt', at),
        run_id: p.runId,
        monitor_id: p.monitorId,
        deployment_id: p.deploymentId,
        model_version_id: p.modelVersionId,
        model: v.model,
        model_version: v.version,
        metric: p.metric,
        feature: p.feature,
        slice: p.slice,
        window_start: p.windowStart,
        window_end: p.windowEnd,
        value: p.value,
        status: p.status,
        details: JSON.stringify(p.details),
        created_at: at,
      };
    });
    await inTransaction(db, async (tx) => {
      await points.insertPoints({ tx, rows: pointRows });
      for (const d of measured.detectors) {
        await detectorStates.saveState({
          tx,
          row: {
            monitor_id: monitor.id,
            model_version_id: d.modelVersionId,
            detector: d.next.detector,
            state: JSON.stringify(d.next.state),
            rows_seen: d.next.rowsSeen,
            window_end: d.next.windowEnd,
            updated_at: at,
          },
        });
      }
      await runs.finishRun({
        tx,
        id: row.id,
        status: 'completed',
        rows: measured.rows,
        points: pointRows.length,
        error: null,
        at,
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'monitor.run.completed',
        entityType: 'monitor',
        entityId: monitor.id,
        details: {
          runId: row.id,
          windowStart: toIso(w.start),
          windowEnd: toIso(w.end),
          points: pointRows.length,
        },
      });
      await deps.events.emit(
        tx,
        'monitor.run.completed',
        {
          monitorId: monitor.id,
          deploymentId: monitor.deployment_id,
          runId: row.id,
          points: pointRows.length,
        },
        { actor: input.actor },
      );
    });
    const done = await runs.findRun({ tx: db, id: row.id });
    return { run: toRun(done as MonitorRunTable), points: measured.points };
  }

  async function monitorRow(id: string): Promise<MonitorTable> {
    const row = await monitors.findMonitor({ tx: db, id });
    if (!row) throw new NotFoundError('monitor', id);
    return row;
  }

  return {
    run,
    /** A monitor's runs, newest window first. */
    async list(monitorId: string, limit = 50): Promise<MonitorRun[]> {
      await monitorRow(monitorId);
      return (await runs.listRuns({ tx: db, monitorId, limit })).map(toRun);
    },
    /** Where the schedule's next window starts (undefined: the monitor never completed a run). */
    lastCompletedEnd: (monitorId: string) => runs.lastCompletedEnd({ tx: db, monitorId }),
  };
}

export type MonitorRunService = ReturnType<typeof createMonitorRunService>;
