import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditOutcome, auditStory } from '../../examples/story-audit.js';
import { DAY_MS, storyClock } from '../../examples/story-clock.js';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';

/*
 * The audit story, end to end on a fresh SQLite workspace: a decision made three months ago (by the
 * story clock) is traced to the model, its approval, the run and the exact dataset version; the model
 * is reproduced byte for byte; the audit chain verifies.
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
});
