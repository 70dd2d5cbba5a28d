import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { newIds } from '../../src/core/ids.js';
import { insertRun } from '../../src/tracking/run.repo.js';
import {
  insertMetrics,
  insertParams,
  upsertLatestMetrics,
  upsertTags,
} from '../../src/tracking/run-data.repo.js';

/*
 * The data the browser suites and bench/web look at: the demo's story (examples/tour.ts, run as a
 * newcomer runs it, into a temp SEXTANT_HOME) plus an experiment of many runs for the runs table.
 */
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** Builds web/dist when it is missing (npm ci's prepare script normally has). */
export async function ensureWebBuilt(): Promise<void> {
  if (fs.existsSync(path.join(root, 'web/dist/index.html'))) return;
  await run(
    process.execPath,
    [
      path.join(root, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    {
      cwd: root,
    },
  );
}

/** A temp workspace holding the demo's data. */
export async function seedDemoWorkspace(): Promise<{ home: string; ws: Workspace; demoOutput: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-web-'));
  const { stdout } = await run(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'examples/tour.ts'],
    {
      cwd: root,
      env: {
        ...process.env,
        SEXTANT_HOME: home,
        SEXTANT_AUTH: 'off',
        SEXTANT_HOST: '127.0.0.1',
        SEXTANT_PORT: '5005',
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
  return { home, ws, demoOutput: stdout };
}

/**
 * An experiment of `count` finished runs, each with 3 params, 2 metrics and a 5-step `val_loss`.
 * Through the run service that is 3 audited transactions a run (about 70 s for 10,000 on this machine),
 * so the rows go through tracking's own repo functions in one transaction: the same tables and
 * queries the search reads, only without an audit entry per run.
 */
export async function seedManyRuns(ws: Workspace, name: string, count: number): Promise<string> {
  const experiment = await createLocalApi(ws).experiments.create({ name });
  const t0 = Date.UTC(2026, 0, 1);
  const ids = newIds('run', count, t0);
  await ws.store.db.transaction().execute(async (tx) => {
    for (const [i, id] of ids.entries()) {
      const runName = `trial-${String(i).padStart(5, '0')}`;
      await insertRun({
        tx,
        values: {
          id,
          experiment_id: Number(experiment.id),
          name: runName,
          status: 'FINISHED',
          lifecycle_stage: 'active',
          user_id: 'seed',
          start_time: t0 + i * 1000,
          end_time: t0 + i * 1000 + 500,
          artifact_uri: `${experiment.artifactLocation}/${id}/artifacts`,
          git_commit: null,
          git_dirty: null,
          command: null,
          deleted_at: null,
          updated_at: t0,
        },
      });
      await upsertTags({ tx, runId: id, tags: [{ key: 'mlflow.runName', value: runName }] });
      await insertParams({
        tx,
        runId: id,
        params: [
          { key: 'lr', value: String((i % 10) / 100) },
          { key: 'depth', value: String(2 + (i % 7)) },
          { key: 'optimizer', value: i % 2 ? 'adam' : 'sgd' },
        ],
      });
      const metric = (key: string, value: number, step: number) => ({
        run_id: id,
        key,
        value,
        is_nan: 0,
        timestamp: t0,
        step,
      });
      const rows = [
        metric('accuracy', (i % 1000) / 1000, 0),
        metric('loss', 1 - (i % 1000) / 1000, 0),
        ...[0, 1, 2, 3, 4].map((step) => metric('val_loss', 1 / (step + 1 + (i % 5)), step)),
      ];
      await insertMetrics({ tx, dialect: ws.store.dialect, rows });
      await upsertLatestMetrics({ tx, rows: [rows[0]!, rows[1]!, rows.at(-1)!] });
    }
  });
  return experiment.id;
}
