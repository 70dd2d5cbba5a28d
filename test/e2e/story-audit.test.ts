import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditOutcome, auditStory } from '../../examples/story-audit.js';
import { DAY_MS, storyClock } from '../../examples/story-clock.js';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { splitRows } from '../../src/ml/index.js';
import { cli } from '../support/cli.js';

/*
 * The audit story, end to end on a fresh SQLite workspace: a decision made three months ago (by the
 * story clock) is traced to the model, its approval, the run and the exact dataset version; the model
 * is reproduced byte for byte; the audit chain verifies; the compliance report evaluates the model
 * per group of the card's protected attribute, with the numbers `sextant evaluate --slice` gives.
 */
describe('story: the audit of a declined application from three months ago', () => {
  let home: string;
  let ws: Workspace;
  let outcome: AuditOutcome;
  let started: number;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-story-audit-'));
    const clock = storyClock();
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' }), clock);
    started = Date.now();
    outcome = await auditStory(ws, createLocalApi(ws), { workDir: path.join(home, 'files'), clock });
  }, 120_000);

  afterAll(async () => {
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('the decision was served three months ago, by the champion of that day', () => {
    const servedAt = Date.parse(outcome.servedAt);
    expect(started - servedAt).toBeGreaterThan(85 * DAY_MS);
    expect(started - servedAt).toBeLessThan(95 * DAY_MS);
    expect(outcome.trace.prediction.outputs?.prediction).toBeDefined();
    expect(outcome.trace.modelVersion?.ref).toBe(`${outcome.model}@${outcome.version}`);
    expect(outcome.trace.alias?.name).toBe('champion');
    expect(outcome.trace.alias?.holder).toBe(outcome.version);
  });

  it('the trace names the approvals, the run and the exact dataset version with its digest', async () => {
    expect(outcome.approvedBy).toEqual(['demo-reviewer']);
    expect(outcome.requestedBy).toBe('local');
    // The approval happened before the decision, also three months back.
    const approvedAt = Date.parse(outcome.trace.alias!.since!.at);
    expect(approvedAt).toBeLessThan(Date.parse(outcome.servedAt));
    expect(outcome.trace.run?.id).toBe(outcome.runId);
    expect(outcome.trace.datasets.map((d) => d.ref)).toEqual([outcome.dataset.ref]);
    const version = await ws.data.versions.resolve(outcome.dataset.ref);
    expect(outcome.trace.datasets[0]!.digest).toBe(version.digest);
    expect(outcome.dataset.digest).toBe(version.digest);
    expect(outcome.trace.gaps).toEqual([]);
  });

  it('the decision is explained, the model reproduces byte for byte, the chain verifies', async () => {
    expect(outcome.topFactors.length).toBeGreaterThan(0);
    expect(outcome.reproduced).toBe(true);
    expect(outcome.reproducedSha256).toBe(outcome.trace.modelVersion?.sha256);
    expect(outcome.chain.ok).toBe(true);
    const verify = await createLocalApi(ws).audit.verify();
    expect(verify.ok).toBe(true);
    expect(verify.entries).toBeGreaterThanOrEqual(outcome.chain.entries);
  });

  it('the compliance report is written and names the dataset version, its digest and the chain head', () => {
    const html = fs.readFileSync(outcome.reportFile, 'utf8');
    expect(html).toContain(outcome.dataset.ref);
    expect(html).toContain(outcome.dataset.digest);
    expect(outcome.report.data.datasets.map((d) => d.ref)).toEqual([outcome.dataset.ref]);
    expect(outcome.report.training.reproduction.status).toBe('reproduced');
    expect(outcome.report.audit.ok).toBe(true);
    expect(outcome.report.audit.head?.hash).toBeTruthy();
    expect(html).toContain(outcome.report.audit.head!.hash);
  });

  it('the report evaluates per slice on the validation rows: the numbers `sextant evaluate --slice sex` gives', async () => {
    const off = outcome.report.evaluation.offline;
    expect(off.status).toBe('evaluated');
    expect(off.attributes).toEqual(['sex']);
    expect(off.attributesFrom).toBe('card');
    // The same rows, made independently: the run's recorded split of the stored version, as a dataset.
    const run = await ws.runs.get(outcome.runId);
    const file = await ws.data.versions.openFile(outcome.dataset.ref, 'applications.csv');
    const chunks: Buffer[] = [];
    for await (const c of file.stream) chunks.push(c as Buffer);
    const [header, ...lines] = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    const { validation } = splitRows(
      lines.length,
      Number(run.params.val_fraction),
      Number(run.params.split_seed),
    );
    const dir = path.join(home, 'validation-rows');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'rows.csv'), [header, ...validation.map((i) => lines[i])].join('\n'));
    const env = { SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' };
    expect((await cli(env, 'data', 'add', dir, '--dataset', 'audit-validation-rows')).code).toBe(0);
    const evaluated = await cli(
      env,
      '--json',
      'evaluate',
      `${outcome.model}@${outcome.version}`,
      '--dataset',
      'audit-validation-rows@1',
      '--slice',
      'sex',
    );
    expect(evaluated.code).toBe(0);
    const cliOut = JSON.parse(evaluated.out) as {
      rows: number;
      metrics: Record<string, number | null>;
      slices: {
        column: string;
        values: { slice: string; count: number; metrics: Record<string, number | null> }[];
      };
    };
    expect(off.data?.rows).toBe(validation.length);
    expect(off.data?.digest).toBe(outcome.dataset.digest);
    expect(off.metrics).toEqual(cliOut.metrics);
    expect(off.slices.map((s) => ({ slice: s.value, count: s.rows, metrics: s.metrics }))).toEqual(
      cliOut.slices.values,
    );
    // The registered validation metrics were made on these very rows.
    expect(off.metrics.roc_auc).toBeCloseTo(outcome.report.evaluation.metrics.val_roc_auc!, 12);
  });

  it('the report gives fairness per group of sex, with disparate impact judged against four-fifths', () => {
    const groups = outcome.report.evaluation.offline.fairness;
    expect(groups.map((g) => g.value).sort()).toEqual(['female', 'male']);
    for (const g of groups) {
      const other = groups.find((x) => x !== g)!;
      // Two groups: "the rest" of one is the other, so DI is the ratio of their predicted positive rates.
      const di = g.metrics.DI!;
      expect(di.value).toBeCloseTo(g.predictedPositiveRate! / other.predictedPositiveRate!, 12);
      expect(di.fourFifths).toBe(di.value! < 0.8);
      expect(g.size + g.restSize).toBe(outcome.report.evaluation.offline.data!.rows);
    }
    const html = fs.readFileSync(outcome.reportFile, 'utf8');
    expect(html).toContain('DI (disparate impact)');
    const male = groups.find((g) => g.value === 'male')!;
    expect(html).toContain(`${Number(male.metrics.DI!.value!.toPrecision(6))} <span class=`);
  });
});
