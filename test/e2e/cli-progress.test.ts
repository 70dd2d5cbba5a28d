import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCreditCsv } from '../../src/ml/index.js';
import { runOnTerminal as run } from '../support/cli.js';
import { useCliTransports } from './fixtures/cli-transports.js';
import { uniq } from './helpers.js';

/*
 * Long work shows progress on a terminal (trees grown, bytes hashed) and stays quiet when piped or
 * with --json. The terminal is an Output that says it is interactive and shows progress at once
 * (a real one waits a second before drawing, so quick commands never flicker).
 */

describe('progress on long operations: on a terminal only', () => {
  const t = useCliTransports('cli-progress');
  const envs = t.envs;

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] data add shows bytes and train shows trees on a terminal; nothing when piped or with --json`, async () => {
      const env = envs[transport];
      const dataset = uniq('credit');
      const folder = path.join(t.dir, dataset);
      fs.mkdirSync(folder);
      writeCreditCsv(path.join(folder, 'credit.csv'), { rows: 400, seed: 3 });

      const added = await run(env, true, 'data', 'add', folder, '--dataset', dataset);
      expect(added.code).toBe(0);
      expect(added.progress.some((l) => /\d+%\s+[\d.]+ (B|KiB) \/ [\d.]+ (B|KiB)/.test(l))).toBe(true);
      expect(added.progress.at(-1)).toBe('<end>');

      const train = [
        'train',
        '-d',
        `${dataset}@1`,
        '--target',
        'defaulted',
        '-m',
        'gbdt',
        '-p',
        'n_estimators=12',
      ];
      const onTerminal = await run(env, true, ...train);
      expect(onTerminal.code).toBe(0);
      const lines = onTerminal.progress.filter((l) => l.startsWith('training'));
      expect(lines.at(-1)).toMatch(/^training\s+\[#{20}\] 100%\s+12\/12 trees\s+val loss [\d.]+$/);
      expect(onTerminal.progress.at(-1)).toBe('<end>');
      // Progress is drawn on stderr's line only: the result on stdout is the same as when piped.
      expect(onTerminal.out).toMatch(/^run\s+run_/);

      const piped = await run(env, false, ...train);
      expect(piped.code).toBe(0);
      expect(piped.progress).toEqual([]);
      const json = await run(env, true, '--json', ...train);
      expect(json.code).toBe(0);
      expect(json.progress).toEqual([]);
      expect(JSON.parse(json.out)).toHaveProperty('runId');

      // A sweep counts its trials on a terminal, and prints nothing of them when piped.
      const sweep = [
        'sweep',
        '-d',
        `${dataset}@1`,
        '--target',
        'defaulted',
        '-m',
        'linear',
        '--grid',
        'l2=0.1,1',
      ];
      const swept = await run(env, true, ...sweep);
      expect(swept.code).toBe(0);
      expect(swept.progress.filter((l) => l.startsWith('sweeping')).at(-1)).toMatch(
        /^sweeping\s+\[#{20}\] 100%\s+2\/2 trials\s+trial \d+ (FINISHED|finished)/,
      );
      const sweptPiped = await run(env, false, ...sweep);
      expect(sweptPiped.code).toBe(0);
      expect(sweptPiped.progress).toEqual([]);

      // Batch scoring counts rows on a terminal.
      const model = uniq('credit-model');
      const runId = (JSON.parse(json.out) as { runId: string }).runId;
      expect((await run(env, false, 'models', 'register', model, '--run', runId)).code).toBe(0);
      const predict = ['predict', `${model}@1`, '--dataset', `${dataset}@1`];
      const scored = await run(env, true, ...predict);
      expect(scored.code).toBe(0);
      expect(scored.progress.filter((l) => l.startsWith('scoring')).at(-1)).toMatch(
        /^scoring\s+\[#{20}\] 100%\s+400\/400 rows$/,
      );
      expect((await run(env, false, ...predict)).progress).toEqual([]);
    });
  }

  it('backup and restore show the bytes archived and restored on a terminal, nothing when piped', async () => {
    const env = envs.local;
    const folder = path.join(t.dir, uniq('backed'));
    fs.mkdirSync(folder);
    writeCreditCsv(path.join(folder, 'credit.csv'), { rows: 200, seed: 5 });
    expect((await run(env, false, 'data', 'add', folder, '--dataset', uniq('backed'))).code).toBe(0);
    const archive = path.join(t.dir, `${uniq('backup')}.tar`);
    const backup = await run(env, true, 'backup', archive);
    expect(backup.code).toBe(0);
    expect(backup.progress.filter((l) => l.startsWith('archiving')).at(-1)).toMatch(/^archiving\s.*100%/);
    expect(backup.progress.at(-1)).toBe('<end>');
    expect((await run(env, false, 'backup', `${archive}.2`)).progress).toEqual([]);

    // A restored workspace needs the audit key the chain was signed with (it is not in the archive).
    const home = () => {
      const h = path.join(t.dir, uniq('restored'));
      fs.mkdirSync(h);
      fs.copyFileSync(path.join(env.SEXTANT_HOME!, 'audit.key'), path.join(h, 'audit.key'));
      return { SEXTANT_HOME: h };
    };
    const restored = await run(home(), true, 'restore', archive);
    expect(restored.code, restored.err).toBe(0);
    expect(restored.progress.filter((l) => l.startsWith('restoring')).at(-1)).toMatch(/^restoring\s.*100%/);
    const quiet = await run(home(), false, 'restore', archive);
    expect(quiet.code).toBe(0);
    expect(quiet.progress).toEqual([]);
  });
});
