import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { CostLedger } from '../../src/cost/budgets/index.js';
import type { WorkerHandle } from '../../src/jobs/index.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import type { PipelineRunDetail } from '../../src/pipelines/index.js';
import { describeEachBackend } from '../support/backends.js';

/*
 * The engine end to end on a real database with the in-process queue: steps run as `pipeline.step`
 * jobs worked in this process, commands in real shells.
 */

describeEachBackend('pipeline engine (in-process queue)', (getStore) => {
  let services: Services;
  let worker: WorkerHandle;
  let home: string;
  let n = 0;
  /** Spend per budget scope ('team:x'), as the ledger would attribute it; the budget test sets it. */
  const spend = new Map<string, number>();
  const costLedger: CostLedger = {
    spent: async ({ scope }) => {
      const amount = spend.get(`${scope.kind}:${scope.value}`);
      return { amount: amount ?? 0, currency: 'USD', usageRows: amount === undefined ? 0 : 1 };
    },
  };

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-pipelines-'));
    const config = loadConfig({ SEXTANT_HOME: home });
    services = createServices({
      store: getStore(),
      blobs: createBlobStore(`file:${path.join(home, 'blobs')}`),
      clock: systemClock,
      config,
      auditKey: 'test-audit-key-0123456789',
      costLedger,
    });
    worker = services.jobs.work({ queues: ['default'], concurrency: 4, leaseMs: 5_000 });
  });
  afterAll(async () => {
    await worker.close();
    await services.jobs.close();
    await services.events.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** Writes a spec into its own folder (the run's workdir) and returns the file path. */
  function specFile(yaml: string): string {
    const dir = fs.mkdtempSync(path.join(home, 'p-'));
    const file = path.join(dir, 'pipeline.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  }
  const unique = (base: string) => `${base}-${++n}-${Date.now().toString(36)}`;

  async function settle(runId: string, ms = 40_000): Promise<PipelineRunDetail> {
    const until = Date.now() + ms;
    for (;;) {
      const r = await services.pipelines.service.getRun(runId);
      if (r.status !== 'running') return r;
      if (Date.now() > until)
        throw new Error(
          `run ${runId} still running: ${JSON.stringify(r.steps.map((s) => [s.name, s.status]))}`,
        );
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  const start = (
    pipeline: string,
    extra: { params?: Record<string, unknown>; force?: boolean; tags?: Record<string, string> } = {},
  ) =>
    services.pipelines.starter.start({
      pipeline,
      trigger: { kind: 'manual', key: 'test' },
      actor: 'local',
      ...extra,
    });
  /** A killed process may linger as a zombie where nothing reaps orphans: that counts as dead. */
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  async function waitDead(pid: number) {
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((res) => setTimeout(res, 25));
    return !alive(pid);
  }
  const stepOf = (r: PipelineRunDetail, name: string) => {
    const s = r.steps.find((x) => x.name === name);
    if (!s) throw new Error(`no step ${name}`);
    return s;
  };

  it('runs a 10-step fan-out / fan-in DAG: every step once, the join sees every branch output', async () => {
    const name = unique('fan');
    const branches = Array.from({ length: 8 }, (_, i) => `b${i}`);
    const yaml = [
      `name: ${name}`,
      'params:',
      '  base: { type: integer, default: 10 }',
      'steps:',
      '  start:',
      `    run: echo "seed=\${{ params.base }}" >> $SEXTANT_OUTPUT`,
      '    outputs: { seed: {} }',
      ...branches.flatMap((b, i) => [
        `  ${b}:`,
        `    run: echo "v=$(( \${{ steps.start.outputs.seed }} + ${i} ))" >> $SEXTANT_OUTPUT`,
        '    outputs: { v: {} }',
      ]),
      '  join:',
      `    run: echo "sum=$(( ${branches.map((b) => `\${{ steps.${b}.outputs.v }}`).join(' + ')} ))" >> $SEXTANT_OUTPUT`,
      '    outputs: { sum: {} }',
    ].join('\n');
    const { runId, status } = await start(specFile(yaml));
    expect(status).toBe('running');
    const r = await settle(runId);
    expect(r.status).toBe('succeeded');
    expect(r.steps).toHaveLength(10);
    expect(r.steps.every((s) => s.status === 'succeeded')).toBe(true);
    // 8 branches of 10 + i: 80 + 28.
    expect(stepOf(r, 'join').outputs).toEqual({ sum: '108' });
    expect(stepOf(r, 'join').deps).toEqual([...branches].sort());
    // Each step's job ran one attempt.
    for (const s of r.steps) {
      expect(s.jobId).not.toBeNull();
      expect((await services.jobs.get(s.jobId as string)).log).toHaveLength(1);
    }
    // The run is a tracked run, each step a child run of it.
    expect(r.trackingRunId).not.toBeNull();
    const child = await services.runs.get(stepOf(r, 'join').trackingRunId as string);
    expect(child.tags['mlflow.parentRunId']).toBe(r.trackingRunId);
    expect((await services.runs.get(r.trackingRunId as string)).status).toBe('FINISHED');
  });

  it('a failed step skips its dependants, its siblings finish, and the run fails naming it', async () => {
    const yaml = `
name: ${unique('fail')}
steps:
  a: { run: echo a }
  b:
    needs: [a]
    run: echo "about to fail" >&2; exit 3
  c: { needs: [b], run: echo c }
  d: { needs: [c], run: echo d }
  e: { needs: [a], run: echo e }
`;
    const r = await settle((await start(specFile(yaml))).runId);
    expect(r.status).toBe('failed');
    expect(r.failedStep).toBe('b');
    expect(stepOf(r, 'b')).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(stepOf(r, 'b').logTail).toContain('about to fail');
    expect(stepOf(r, 'c').status).toBe('skipped');
    expect(stepOf(r, 'd').status).toBe('skipped');
    expect(stepOf(r, 'e').status).toBe('succeeded');
    // c and d never ran: no job was made for them.
    expect(stepOf(r, 'c').jobId).toBeNull();
    const finished = await services.events.events({ types: ['pipeline.run.finished'], limit: 50 });
    expect(
      finished.find((e) => (e.payload as { pipelineRunId: string }).pipelineRunId === r.id)?.payload,
    ).toEqual({
      pipelineRunId: r.id,
      pipeline: r.pipeline,
      status: 'failed',
      failedStep: 'b',
    });
    const logs = await services.pipelines.service.logs({ runId: r.id, step: 'b' });
    expect(logs.done).toBe(true);
    expect(logs.chunks.map((c) => c.text).join('')).toContain('about to fail');
  });

  it('an unchanged step is a cache hit that restores its file; --force and a changed param run it', async () => {
    const name = unique('cache');
    const file = specFile(`
name: ${name}
params:
  n: { type: integer, default: 1 }
steps:
  make:
    run: echo "made $(date +%s%N) n=\${{ params.n }}" > out.txt; echo ran >> ran.log
    outputs: { out: { file: out.txt } }
`);
    const dir = path.dirname(file);
    const first = await settle((await start(file)).runId);
    expect(stepOf(first, 'make').status).toBe('succeeded');
    const made = fs.readFileSync(path.join(dir, 'out.txt'), 'utf8');
    fs.rmSync(path.join(dir, 'out.txt'));

    const second = await settle((await start(file)).runId);
    expect(second.status).toBe('succeeded');
    expect(stepOf(second, 'make').status).toBe('cached');
    expect(stepOf(second, 'make').cacheKey).toBe(stepOf(first, 'make').cacheKey);
    expect(stepOf(second, 'make').outputs).toEqual(stepOf(first, 'make').outputs);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe(made);
    const said = await services.pipelines.service.logs({ runId: second.id });
    expect(said.chunks.map((c) => c.text).join('')).toMatch(/cache hit/);

    const forced = await settle((await start(file, { force: true })).runId);
    expect(stepOf(forced, 'make').status).toBe('succeeded');
    const changed = await settle((await start(file, { params: { n: '2' } })).runId);
    expect(stepOf(changed, 'make').status).toBe('succeeded');
    expect(stepOf(changed, 'make').cacheKey).not.toBe(stepOf(first, 'make').cacheKey);
    // Ran three times (first, forced, changed param); the cache hit did not run it.
    expect(fs.readFileSync(path.join(dir, 'ran.log'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('a step past its timeout fails and its whole process group is killed', async () => {
    const file = specFile(`
name: ${unique('slow')}
steps:
  slow:
    timeout: 1s
    run: sleep 30 & echo $! > child.pid; wait
  after: { needs: [slow], run: echo never }
`);
    const r = await settle((await start(file)).runId);
    expect(r.status).toBe('failed');
    expect(stepOf(r, 'slow').error).toMatch(/timed out/);
    expect(stepOf(r, 'after').status).toBe('skipped');
    const pid = Number(fs.readFileSync(path.join(path.dirname(file), 'child.pid'), 'utf8'));
    expect(await waitDead(pid)).toBe(true);
  });

  it('a step with retries is retried and succeeds on a later attempt', async () => {
    const file = specFile(`
name: ${unique('retry')}
steps:
  flaky:
    retries: 2
    run: echo x >> tries; test $(wc -l < tries) -ge 2
`);
    const r = await settle((await start(file)).runId);
    expect(r.status).toBe('succeeded');
    expect(stepOf(r, 'flaky').attempt).toBe(2);
    // The job's attempt ends just after the commit that finished the run.
    const jobId = stepOf(r, 'flaky').jobId as string;
    for (let i = 0; i < 200 && (await services.jobs.get(jobId)).status !== 'completed'; i++)
      await new Promise((res) => setTimeout(res, 25));
    expect((await services.jobs.get(jobId)).log.map((a) => a.status)).toEqual(['failed', 'completed']);
  });

  it('cancel stops a running step, cancels the rest, and ends the run cancelled', async () => {
    const name = unique('cancel');
    const file = specFile(`
name: ${name}
steps:
  long: { run: sleep 30 & echo $! > child.pid; wait }
  next: { needs: [long], run: echo next }
`);
    const { runId } = await start(file);
    expect((await services.pipelines.starter.active(name)).map((a) => a.runId)).toEqual([runId]);
    const pidFile = path.join(path.dirname(file), 'child.pid');
    for (let i = 0; i < 400 && !fs.existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 25));
    await services.pipelines.starter.cancel(runId, 'local');
    const r = await settle(runId);
    expect(r.status).toBe('cancelled');
    expect(r.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(await services.pipelines.starter.active(name)).toEqual([]);
    expect(await waitDead(Number(fs.readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('a dataset output becomes a version, read by a later step as an input, both linked to the step runs', async () => {
    const ds = unique('pl-data');
    const file = specFile(`
name: ${unique('data')}
steps:
  make:
    run: printf 'a,b\\n1,2\\n' > rows.csv
    outputs: { rows: { file: rows.csv, dataset: ${ds} } }
  use:
    needs: [make]
    inputs: { data: { dataset: ${ds}@latest } }
    run: echo "read $SEXTANT_INPUT_DATA"
`);
    const r = await settle((await start(file)).runId);
    expect(r.status).toBe('succeeded');
    expect(stepOf(r, 'make').outputs?.rows).toMatchObject({ kind: 'dataset', ref: `${ds}@1` });
    const logs = await services.pipelines.service.logs({ runId: r.id, step: 'use' });
    expect(logs.chunks.map((c) => c.text).join('')).toContain(`read ${ds}@1`);
    const made = await services.runs.get(stepOf(r, 'make').trackingRunId as string);
    const used = await services.runs.get(stepOf(r, 'use').trackingRunId as string);
    expect(made.inputs.map((i) => [i.direction, i.source])).toEqual([['output', `${ds}@1`]]);
    expect(used.inputs.map((i) => [i.direction, i.source])).toEqual([['input', `${ds}@1`]]);
  });

  it('uses: sextant/sweep runs its trials as sweep.trial jobs and answers the best run, metrics and model', async () => {
    const ds = unique('sweep-data');
    const csv = path.join(fs.mkdtempSync(path.join(home, 'd-')), 'credit.csv');
    writeCreditCsv(csv, { rows: 300, seed: 7 });
    const blob = await services.data.versions.putLocalFile({ localPath: csv });
    await services.data.versions.create({
      actor: 'local',
      dataset: ds,
      files: [{ path: 'credit.csv', size: blob.size, sha256: blob.sha256 }],
      source: 'test',
    });
    const r = await settle(
      (
        await start(
          specFile(`
name: ${unique('sweep')}
steps:
  tune:
    uses: sextant/sweep
    with:
      dataset: ${ds}@latest
      target: defaulted
      trainer: gbdt
      metric: val_roc_auc
      parallel: 2
      params: { n_estimators: 5 }
      grid: { max_depth: [2, 3], learning_rate: ["0.1", "0.3"] }
  report:
    needs: [tune]
    run: echo "best=\${{ steps.tune.outputs.best }} model=\${{ steps.tune.outputs.model }}"
`),
        )
      ).runId,
      120_000,
    );
    expect(r.status, JSON.stringify(r.steps.map((s) => [s.name, s.status, s.error]))).toBe('succeeded');
    const out = stepOf(r, 'tune').outputs as Record<string, unknown>;
    expect(out.metric).toBe('val_roc_auc');
    const best = out.best as string;
    expect(out.model).toBe(`runs:/${best}/model`);
    expect((out.metrics as Record<string, number>).val_roc_auc).toBeGreaterThan(0.5);
    // Four trials, each a finished sweep.trial job; the best is one of their runs, the highest score.
    const sweep = await services.runs.get(out.run as string);
    expect(sweep.tags['sextant.best_run_id']).toBe(best);
    expect(sweep.tags['mlflow.parentRunId']).toBe(stepOf(r, 'tune').trackingRunId);
    const trials = await services.jobs.list({ name: 'sweep.trial' });
    const ours = trials.jobs.filter((j) => (j.payload as { sweepId?: string }).sweepId === sweep.id);
    expect(ours).toHaveLength(4);
    expect(ours.every((j) => j.status === 'completed')).toBe(true);
    const scores = ours.map((j) => (j.result as { objective: number }).objective);
    expect((out.metrics as Record<string, number>).val_roc_auc).toBe(Math.max(...scores));
    const logs = await services.pipelines.service.logs({ runId: r.id, step: 'report' });
    expect(logs.chunks.map((c) => c.text).join('')).toContain(`best=${best} model=runs:/${best}/model`);
  });

  it('uses: sextant/sweep with neither grid nor random fails the step naming with.grid', async () => {
    const r = await settle(
      (
        await start(
          specFile(`
name: ${unique('sweep-bad')}
steps:
  tune:
    uses: sextant/sweep
    with: { dataset: nope@1, target: y, trainer: gbdt }
`),
        )
      ).runId,
    );
    expect(r.status).toBe('failed');
    expect(stepOf(r, 'tune').error).toContain('with.grid');
  });

  it("a step in an exhausted budget's scope is held (queued, not failed) and runs once the budget is raised", async () => {
    const team = unique('team');
    const { budget } = await services.budgets.create({
      actor: 'local',
      name: unique('b'),
      scope: { kind: 'team', value: team },
      period: 'month',
      amount: 10,
      allowUnknownScope: true,
    });
    spend.set(`team:${team}`, 12);
    expect((await services.budgets.checkOne(budget.id))?.status).toBe('exhausted');
    const dir = path.dirname(
      specFile(
        `name: ${unique('budget')}\nsteps:\n  a: { run: echo ran >> ran.log }\n  b: { needs: [a], run: echo ran >> ran.log }\n`,
      ),
    );
    const { runId } = await start(path.join(dir, 'pipeline.yaml'), { tags: { team } });
    // The first step's job carries the run's scope and is held at claim time with the budget named.
    const first = stepOf(await services.pipelines.service.getRun(runId), 'a');
    let job = await services.jobs.get(first.jobId as string);
    expect(job.scope?.tags).toMatchObject({ team });
    expect(job.scope?.experimentId).toBe((await services.experiments.getByName('pipelines')).id);
    for (let i = 0; i < 200 && !job.heldReason; i++) {
      await new Promise((res) => setTimeout(res, 25));
      job = await services.jobs.get(first.jobId as string);
    }
    expect(job.heldReason).toContain(budget.name);
    expect(job.status).toBe('queued');
    expect(job.attempts).toBe(0);
    const held = await services.pipelines.service.getRun(runId);
    expect([held.status, stepOf(held, 'a').status]).toEqual(['running', 'queued']);
    expect(fs.existsSync(path.join(dir, 'ran.log'))).toBe(false);

    // Raised above the spend: the held step runs at its next look, and the next step after it.
    await services.budgets.update({ actor: 'local', ref: budget.id, amount: 100 });
    const r = await settle(runId, 60_000);
    expect(r.status).toBe('succeeded');
    expect(fs.readFileSync(path.join(dir, 'ran.log'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect((await services.jobs.get(stepOf(r, 'b').jobId as string)).scope?.tags).toMatchObject({ team });
  }, 90_000);

  describe('registration', () => {
    it('the same content registers once; a change makes the next version', async () => {
      const name = unique('reg');
      const yaml = `name: ${name}\nsteps:\n  a: { run: echo a }\n`;
      const one = await services.pipelines.service.create({ yaml, actor: 'local' });
      const again = await services.pipelines.service.create({ yaml, actor: 'local' });
      const two = await services.pipelines.service.create({
        yaml: yaml.replace('echo a', 'echo b'),
        actor: 'local',
      });
      expect([one.created, again.created, two.created]).toEqual([true, false, true]);
      expect(again.pipeline.id).toBe(one.pipeline.id);
      expect(two.pipeline.version).toBe(2);
    });
  });
});
