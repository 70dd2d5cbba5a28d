import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { explanationSchema } from '../../src/governance/explain/explanation.schema.js';
import { predictionTraceSchema } from '../../src/governance/trace/index.js';
import { buildApp } from '../../src/server/app.js';
import { deploymentSchema, predictionSchema } from '../../src/serving/index.js';
import { type CliResult, cli } from '../support/cli.js';
import { uniq } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * The serving commands as a user types them, on a local workspace and against a server (--url):
 * deployments, the prediction log, delayed labels, trace and explain, and the exit codes of bad input
 * (2 usage/validation, 3 not found, a label that was not recorded: its error's code).
 */

const json = <T>(r: CliResult): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
};
const feedbackJson = z.object({ recorded: z.number(), duplicate: z.number(), failed: z.number() });

describe('sextant deployments / predictions / feedback / trace / explain', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let chain: Chain;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  let deployment: string;
  const predictions: string[] = [];

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-serving-cli-'));
    local = { SEXTANT_HOME: home };
    ws = await openWorkspace(loadConfig(local));
    app = await buildApp(ws);
    remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
    chain = await buildChain(ws);
    await chain.train(1);
    await chain.promote(1, 'first');
    deployment = uniq('credit-api');
    const created = await cli(
      local,
      'deployments',
      'create',
      deployment,
      '--model',
      `${chain.model}@champion`,
    );
    expect(created.code, created.err).toBe(0);
    const rt = await ws.serving.openRuntime({ actor: 'local', deployment });
    const { items } = await rt.predict(chain.records);
    await rt.close();
    predictions.push(...items.map((i) => i.prediction_id));
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await ws?.close();
    chain?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('deployments: create with a challenger, list, show, update, remove; bad flags exit 2, unknown names 3', async () => {
    const name = uniq('dep');
    const created = json<unknown>(
      await cli(
        local,
        '--json',
        'deployments',
        'create',
        name,
        '--model',
        // Not champion: a canary on a deployment that follows a protected alias must follow one too.
        `${chain.model}@latest`,
        '--canary',
        '1',
        '--percent',
        '10',
      ),
    );
    expect(deploymentSchema.parse(created)).toMatchObject({
      name,
      challenger: { ref: '1', mode: 'canary', percent: 10 },
      ledgerMode: 'durable',
    });
    const ls = await cli(local, 'deployments', 'ls');
    expect(ls.out).toMatch(
      new RegExp(`${name}\\s+${chain.model}@latest\\s+${chain.model}@1 \\(canary 10%\\)\\s+durable`),
    );
    const shown = await cli(remote, 'deployments', 'show', name);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toMatch(/challenger\s+.*@1 \(canary 10%\)/);

    const updated = json<unknown>(
      await cli(remote, '--json', 'deployments', 'update', name, '--no-challenger', '--ledger', 'async'),
    );
    expect(deploymentSchema.parse(updated)).toMatchObject({ challenger: null, ledgerMode: 'async' });
    const shadow = json<unknown>(await cli(local, '--json', 'deployments', 'update', name, '--shadow', '1'));
    expect(deploymentSchema.parse(shadow).challenger).toEqual({ ref: '1', mode: 'shadow', percent: null });

    const bad: [string[], number, RegExp][] = [
      [['create', uniq('x'), '--model', `${chain.model}@champion`, '--canary', '1'], 2, /--percent/],
      [
        ['create', uniq('x'), '--model', `${chain.model}@champion`, '--canary', '1', '--percent', '10'],
        6,
        /serves production/,
      ],
      [
        [
          'create',
          uniq('x'),
          '--model',
          `${chain.model}@champion`,
          '--shadow',
          '1',
          '--canary',
          '1',
          '--percent',
          '5',
        ],
        2,
        /exclude each other/,
      ],
      [['create', uniq('x'), '--model', `${chain.model}@champion`, '--ledger', 'fast'], 2, /--ledger/],
      [
        ['create', uniq('x'), '--model', `${chain.model}@champion`, '--canary', '1', '--percent', '120'],
        2,
        /--percent/,
      ],
      [['create', uniq('x'), '--model', 'no-at-sign'], 2, /model/],
      [['create', uniq('x'), '--model', `${uniq('ghost')}@champion`], 3, /does not resolve/],
      [['create', name, '--model', `${chain.model}@champion`], 4, /already exists/],
      [['update', name], 2, /nothing to change/],
      [['update', uniq('ghost'), '--no-challenger'], 3, /does not exist/],
    ];
    for (const [args, code, message] of bad) {
      const r = await cli(local, 'deployments', ...args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.err).toMatch(message);
    }

    expect((await cli(remote, 'deployments', 'rm', name)).code).toBe(0);
    const gone = await cli(local, 'deployments', 'show', name);
    expect(gone.code).toBe(3);
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] predictions ls filters by deployment and version; show prints one`, async () => {
      const env = transport === 'local' ? local : remote;
      const page = json<{ predictions: unknown[] }>(
        await cli(
          env,
          '--json',
          'predictions',
          'ls',
          '--deployment',
          deployment,
          '--model-version',
          `${chain.model}@1`,
        ),
      );
      expect(
        z
          .array(predictionSchema)
          .parse(page.predictions)
          .map((p) => p.id)
          .sort(),
      ).toEqual([...predictions].sort());
      const limited = json<{ predictions: unknown[]; nextCursor: string | null }>(
        await cli(env, '--json', 'predictions', 'ls', '--deployment', deployment, '--limit', '2'),
      );
      expect(limited.predictions).toHaveLength(2);
      expect(limited.nextCursor).not.toBeNull();
      const recent = json<{ predictions: unknown[] }>(
        await cli(env, '--json', 'predictions', 'ls', '--deployment', deployment, '--since', '1h'),
      );
      expect(recent.predictions).toHaveLength(predictions.length);
      const old = json<{ predictions: unknown[] }>(
        await cli(env, '--json', 'predictions', 'ls', '--deployment', deployment, '--until', '1h'),
      );
      expect(old.predictions).toEqual([]);
      const table = await cli(env, 'predictions', 'ls', '--deployment', deployment, '--limit', '2');
      expect(table.out).toContain('more: --cursor ');

      const shown = await cli(env, 'predictions', 'show', predictions[0]!);
      expect(shown.code, shown.err).toBe(0);
      expect(shown.out).toMatch(new RegExp(`model version\\s+${chain.model}@1 \\(champion\\)`));

      for (const [args, code] of [
        [['ls', '--model-version', 'credit'], 2],
        [['ls', '--since', 'yesterday'], 2],
        [['ls', '--limit', '0'], 2],
        [['ls', '--deployment', uniq('ghost')], 3],
        [['show', 'nope'], 2],
        [['show', 'pred_00000000000000000000000000'], 3],
      ] as [string[], number][]) {
        const r = await cli(env, 'predictions', ...args);
        expect({ args, code: r.code }).toEqual({ args, code });
      }
    });
  }

  it('feedback: one label, the same again (duplicate), a different one (failed, exit 4: conflict), a JSONL file (an unknown id: exit 3)', async () => {
    const [a, b, c] = predictions as [string, string, string];
    const first = await cli(local, 'feedback', a, '1');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('recorded 1, duplicate 0, failed 0');
    expect((await cli(remote, 'feedback', a, '1')).out).toContain('recorded 0, duplicate 1, failed 0');
    const conflict = await cli(local, 'feedback', a, '0');
    expect(conflict.code).toBe(4);
    expect(conflict.out).toContain('failed 1');
    expect(conflict.err).toMatch(new RegExp(`^error: ${a}: `));

    const file = path.join(home, 'labels.jsonl');
    fs.writeFileSync(
      file,
      [
        JSON.stringify({ prediction_id: b, label: 0 }),
        '',
        JSON.stringify({ prediction_id: c, label: 1 }),
        JSON.stringify({ prediction_id: 'pred_00000000000000000000000000', label: 1 }),
      ].join('\n'),
    );
    const batch = await cli(remote, '--json', 'feedback', '--file', file);
    expect(batch.code).toBe(3);
    expect(JSON.parse(batch.err)).toMatchObject({ error: { code: 'NOT_FOUND', exitCode: 3 } });
    expect(feedbackJson.parse(JSON.parse(batch.out))).toEqual({ recorded: 2, duplicate: 0, failed: 1 });
    const again = await cli(local, 'feedback', '--file', file);
    expect(again.out).toContain('recorded 0, duplicate 2, failed 1');

    const shown = json<unknown>(await cli(local, '--json', 'predictions', 'show', b));
    expect(predictionSchema.parse(shown).label?.value).toBe(0);

    fs.writeFileSync(
      path.join(home, 'bad.jsonl'),
      `${JSON.stringify({ prediction_id: b, label: 0 })}\n{"prediction_id": 3}\n`,
    );
    const malformed = await cli(local, 'feedback', '--file', path.join(home, 'bad.jsonl'));
    expect(malformed.code).toBe(2);
    expect(malformed.err).toMatch(/bad\.jsonl:2: prediction_id/);
    expect((await cli(local, 'feedback', a)).code).toBe(2);
    expect((await cli(local, 'feedback', '--file', path.join(home, 'missing.jsonl'))).code).toBe(2);
    expect((await cli(local, 'feedback', a, '1', '--file', file)).code).toBe(2);
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] trace prints the chain, --json gives the trace; bad ids exit 2, unknown 3`, async () => {
      const env = transport === 'local' ? local : remote;
      const text = await cli(env, 'trace', predictions[0]!);
      expect(text.code, text.err).toBe(0);
      expect(text.out).toContain(`prediction ${predictions[0]} at `);
      expect(text.out).toMatch(
        new RegExp(`champion since \\S+, promoted by ${chain.editor}, approved by ${chain.approver}`),
      );
      expect(text.out).toContain(`<- dataset ${chain.raw}@1`);
      for (const args of [
        ['trace', predictions[0]!, '--json'],
        ['--json', 'trace', predictions[0]!],
      ]) {
        const tr = predictionTraceSchema.parse(json(await cli(env, ...args)));
        expect(tr.datasets[0]?.ref).toBe(`${chain.credit}@1`);
        expect(tr.alias?.since?.approvals.map((x) => x.actor)).toEqual([chain.approver]);
      }
      // A bad or unknown id names the id and says where to find a real one, on both transports.
      const bad = await cli(env, 'trace', 'pred_x');
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("'pred_x' is not a prediction id");
      expect(bad.err).toContain('sextant predictions ls');
      const unknown = await cli(env, 'trace', 'pred_00000000000000000000000000');
      expect(unknown.code).toBe(3);
      expect(unknown.err).toContain(
        'prediction pred_00000000000000000000000000 is not in the prediction log',
      );
      expect(unknown.err).toContain('sextant predictions ls');
    });
  }

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] explain prints attributions by size, base value, output, method; --json gives them`, async () => {
      const env = transport === 'local' ? local : remote;
      const e = z
        .object({ prediction: predictionSchema, explanation: explanationSchema })
        .parse(json(await cli(env, 'explain', predictions[0]!, '--json')));
      expect(e.prediction.id).toBe(predictions[0]);
      expect(e.explanation.method).toBe('linear');
      const sum = Object.values(e.explanation.attributions).reduce((n, v) => n + v, 0);
      expect(e.explanation.baseValue + sum).toBeCloseTo(e.explanation.output, 6);

      const text = await cli(env, 'explain', predictions[0]!);
      expect(text.code, text.err).toBe(0);
      expect(text.out).toMatch(/base value\s+-?\d/);
      expect(text.out).toMatch(/method\s+linear \(exact\)/);
      const rows = text.out
        .split('\n')
        .map((l) => /^(\S+)\s+\S+\s+(-?[\d.e+-]+)\s+[+-]*$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Math.abs(Number(m[2])));
      expect(rows.length).toBe(Object.keys(e.explanation.attributions).length);
      expect(rows).toEqual([...rows].sort((x, y) => y - x));

      const bad = await cli(env, 'explain', 'nope');
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("'nope' is not a prediction id");
      expect((await cli(env, 'explain', 'pred_00000000000000000000000000')).code).toBe(3);
      expect((await cli(env, 'explain', predictions[0]!, '--samples', 'many')).code).toBe(2);
    });
  }
});
