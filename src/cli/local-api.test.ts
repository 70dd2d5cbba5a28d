import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreWorkspace, openCoreWorkspace, type Services, type Workspace } from '../app/index.js';
import { completeWorkspace } from '../app/services.js';
import { loadConfig } from '../core/config.js';
import { createLazyLocalApi } from './local-api.js';

/*
 * The in-process transport builds only what a command uses: listings of experiments, runs, datasets,
 * users and the audit log answer from the core services, and the registry, serving and the rest are
 * built on the first call that needs them, once, on the same core (one audit chain, one database).
 */
describe('local API over a workspace whose upper floors are built on demand', () => {
  let home: string;
  let core: CoreWorkspace;
  let full: Workspace | undefined;
  let builds: number;
  const openFull = async (): Promise<Services> => {
    if (!full) {
      builds++;
      full = completeWorkspace(core);
    }
    return full;
  };

  beforeEach(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-local-api-'));
    core = await openCoreWorkspace(loadConfig({ SEXTANT_HOME: home }));
    full = undefined;
    builds = 0;
  });
  afterEach(async () => {
    await (full ?? core).close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('experiments, runs, datasets, users and the audit log never build the upper floors', async () => {
    const api = createLazyLocalApi({ core, full: openFull });
    const experiment = await api.experiments.create({ name: 'light' });
    const run = await api.runs.create({ experimentId: experiment.id, name: 'r1' });
    await api.runs.logBatch(run.id, { metrics: [{ key: 'auc', value: 0.8, timestamp: 1, step: 0 }] });
    expect((await api.runs.search({ experimentIds: [experiment.id] })).runs.map((r) => r.id)).toEqual([
      run.id,
    ]);
    expect((await api.experiments.list()).experiments.map((e) => e.name)).toContain('light');
    expect(await api.data.listDatasets()).toEqual([]);
    expect(await api.users.list()).toEqual([]);
    expect((await api.audit.verify()).ok).toBe(true);
    expect(builds).toBe(0);
  });

  it('the first registry call builds every service once, on the core the listings used', async () => {
    const api = createLazyLocalApi({ core, full: openFull });
    await api.experiments.create({ name: 'before-models' });
    expect(await api.models.list()).toMatchObject({ models: [] });
    await api.models.create({ name: 'credit' });
    expect((await api.models.list()).models.map((m) => m.name)).toEqual(['credit']);
    expect((await api.serving.deployments.list()).map((d) => d.name)).toEqual([]);
    // One build for every group (models, serving), sharing the core's audit log: one unbroken chain.
    expect(full?.audit).toBe(core.audit);
    expect(full?.runs).toBe(core.runs);
    expect((await api.audit.verify()).ok).toBe(true);
    expect(builds).toBe(1);
  });
});
