import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyClock } from '../../examples/story-clock.js';
import { type DecayOutcome, decayStory } from '../../examples/story-decay.js';
import { sextantOnPath } from '../../examples/story-shared.js';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { type BackendName, createTestDatabase } from '../support/backends.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';
import { startWorker, type WorkerProcess } from '../support/worker-process.js';

/*
 * The silent-decay story, end to end: on SQLite with the jobs worked in this process, and on
 * PostgreSQL with a real `sextant worker` process running the continuous-training pipeline's steps.
 */
const pgUp = await serviceAvailable('postgres', postgresUrl, 5432);

for (const backend of ['sqlite', 'postgres'] as BackendName[]) {
  describe.skipIf(backend === 'postgres' && !pgUp)(`story: the silent decay [${backend}]`, () => {
    let home: string;
    let ws: Workspace;
    let drop: (() => Promise<void>) | undefined;
    let worker: WorkerProcess | undefined;
    let outcome: DecayOutcome;

    beforeAll(async () => {
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-story-decay-'));
      const workDir = path.join(home, 'files');
      const env: Record<string, string> = {
        SEXTANT_HOME: home,
        SEXTANT_LOG_LEVEL: 'silent',
        SEXTANT_AUDIT_KEY: 'story-decay-e2e-audit-key-0123456789',
      };
      if (backend === 'postgres') {
        const db = await createTestDatabase('postgres');
        drop = db.drop;
        env.SEXTANT_DATABASE_URL = db.url;
        Object.assign(process.env, env);
      }
      const clock = storyClock();
      ws = await openWorkspace(loadConfig(env), clock);
      if (backend === 'postgres') {
        // The worker runs the pipeline's `run:` steps: they need `sextant` on its PATH.
        sextantOnPath(workDir, home);
        worker = await startWorker({ ...env, PATH: process.env.PATH ?? '' });
      }
      outcome = await decayStory(ws, createLocalApi(ws), {
        workDir,
        clock,
        home,
        externalWorker: backend === 'postgres',
      });
    }, 180_000);

    afterAll(async () => {
      worker?.child.kill('SIGKILL');
      await ws?.close();
      await drop?.();
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('drift shows, and the estimate falls in an earlier window than the labels confirm it', () => {
      const [calm, drifting] = outcome.windows;
      expect(calm!.driftShare!).toBeLessThan(drifting!.driftShare!);
      expect(outcome.alertsFired).toContain('drift');
      expect(drifting!.estimatedAccuracy!).toBeLessThan(calm!.estimatedAccuracy!);
      expect(outcome.alertsFired).toContain('estimated-accuracy');
      expect(outcome.estimateDropKnownAt).not.toBeNull();
      expect(outcome.labelledDropKnownAt).not.toBeNull();
      expect(outcome.estimateDropKnownAt!).toBeLessThan(outcome.labelledDropKnownAt!);
      // The labels, once in, confirm it: the drifting week's accuracy is under the floor, the calm one's not.
      expect(drifting!.realisedAccuracy!).toBeLessThan(outcome.floor);
      expect(calm!.realisedAccuracy!).toBeGreaterThanOrEqual(outcome.floor);
    });

    it('the accuracy alert asks for a retrain and the CT pipeline runs every step', async () => {
      expect(outcome.alertsFired).toContain('accuracy-drop');
      expect(outcome.retrainRequested).toBe(true);
      expect(outcome.pipelineRun?.status).toBe('succeeded');
      expect(outcome.pipelineRun?.steps.map((s) => s.status)).toEqual(
        outcome.pipelineRun?.steps.map(() => 'succeeded'),
      );
      const run = await ws.pipelines.service.getRun(outcome.pipelineRun!.id);
      expect(run.steps.map((s) => s.name)).toContain('shadow');
    });

    it('the challenger is shadowed, approved and promoted, and the next window recovers', async () => {
      expect(outcome.shadowed).toBeGreaterThan(0);
      expect(outcome.challenger).toBe(outcome.championBefore + 1);
      const api = createLocalApi(ws);
      expect((await api.models.version(`${outcome.model}@champion`)).version).toBe(outcome.challenger);
      const { events } = await api.models.history(outcome.model, { alias: 'champion' });
      const promotion = events.at(-1)!;
      expect(promotion.toVersion).toBe(outcome.challenger);
      expect(promotion.approvals.map((a) => a.actor)).toEqual(['demo-reviewer']);
      const after = outcome.windows.at(-1)!;
      expect(after.servedBy).toBe(outcome.challenger);
      expect(after.realisedAccuracy!).toBeGreaterThanOrEqual(outcome.floor);
      expect((await api.audit.verify()).ok).toBe(true);
    });
  });
}
