import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import { cli, cliJsonError as jsonError } from '../support/cli.js';
import { useCliTransports } from './fixtures/cli-transports.js';
import { uniq } from './helpers.js';

/*
 * Exit code 11 (BUDGET_EXCEEDED) through the real CLI, on both transports: a price book that makes a
 * CPU-hour dear, a metered `train` that spends it, a budget on the experiment the spend falls on, the
 * check that marks it exhausted, then new work in scope refused: exit 11, and under --json the error's
 * code.
 */

describe('exit code 11: a spent budget refuses new work', () => {
  const t = useCliTransports('cli-budget-exit');

  it('[local] a sweep whose experiment spent its budget exits 11 with BUDGET_EXCEEDED, as text and as JSON', async () => {
    const env = t.envs.local;
    const prices = path.join(t.dir, 'prices.yaml');
    fs.writeFileSync(
      prices,
      'currency: USD\nprices:\n  - resource: cpu_hour\n    price: 1000000000\n    effective_from: 2026-01-01\n',
    );
    expect((await cli(env, 'cost', 'prices', 'set', '-f', prices)).code).toBe(0);

    const dataset = uniq('spend');
    const folder = path.join(t.dir, dataset);
    fs.mkdirSync(folder);
    writeCreditCsv(path.join(folder, 'credit.csv'), { rows: 200, seed: 4 });
    expect((await cli(env, 'data', 'add', folder, '--dataset', dataset)).code).toBe(0);

    // A metered train spends the experiment's money (any CPU time at a billion a CPU-hour).
    const experiment = uniq('spendy');
    expect((await cli(env, 'experiments', 'create', experiment)).code).toBe(0);
    const base = ['-d', `${dataset}@1`, '--target', 'defaulted', '-m', 'linear', '-e', experiment];
    const trained = await cli(env, 'train', ...base);
    expect(trained.code, trained.err).toBe(0);
    const { experiments } = JSON.parse((await cli(env, 'experiments', 'ls', '--json')).out) as {
      experiments: { id: string; name: string }[];
    };
    const id = experiments.find((e) => e.name === experiment)?.id;
    expect(id).toBeDefined();

    const budget = uniq('cap');
    const created = await cli(env, 'budgets', 'create', budget, '--experiment', id!, '--amount', '0.01');
    expect(created.code, created.err).toBe(0);
    expect((await cli(env, 'budgets', 'check')).out).toMatch(new RegExp(`${budget}\\s+exhausted`));

    const sweep = ['sweep', ...base, '--grid', 'l2=0.1,1'];
    const refused = await cli(env, ...sweep);
    expect(refused.code, refused.out + refused.err).toBe(exitCodes.budgetExceeded);
    expect(refused.err).toMatch(new RegExp(`refused, budget '${budget}'.*is exhausted`));

    const json = await cli(env, ...sweep, '--json');
    expect(json.code).toBe(11);
    const error = jsonError.parse(JSON.parse(json.err)).error;
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.exitCode).toBe(11);
    expect(error.details).toMatchObject({ budget, scope: { kind: 'experiment', value: id } });

    // Raised above the spend, the same sweep runs.
    expect((await cli(env, 'budgets', 'update', budget, '--amount', '1e15')).code).toBe(0);
    expect((await cli(env, ...sweep)).code).toBe(0);
  });

  /*
   * Over HTTP no CLI command reaches a refusal today: a remote sweep runs its trials in the CLI
   * process (not as server jobs), and pipeline steps are written in their run's transaction, where
   * budgets hold them at claim instead of refusing them. What the server answers when it refuses
   * (HTTP 402 with the error body its error handler writes) is served here by a plain HTTP server, so
   * the remote transport's mapping to exit 11 and the JSON error is tested through the real CLI.
   */
  it('[remote] a 402 BUDGET_EXCEEDED from the server exits 11, as text and as JSON', async () => {
    const body = {
      error: {
        code: 'BUDGET_EXCEEDED',
        message: "sweep.trial: refused, budget 'cap' (experiment 7) is exhausted",
        details: { budget: 'cap', scope: { kind: 'experiment', value: '7' } },
      },
    };
    const server = http.createServer((_req, res) => {
      res.writeHead(402, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      const env = { SEXTANT_HOME: path.join(t.dir, 'client-402'), SEXTANT_URL: `http://127.0.0.1:${port}` };
      const text = await cli(env, 'experiments', 'create', uniq('x'));
      expect(text.code, text.err).toBe(exitCodes.budgetExceeded);
      expect(text.err).toContain("refused, budget 'cap'");
      const json = await cli(env, 'experiments', 'create', uniq('x'), '--json');
      expect(json.code).toBe(11);
      const error = jsonError.parse(JSON.parse(json.err)).error;
      expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED', exitCode: 11, details: { budget: 'cap' } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
