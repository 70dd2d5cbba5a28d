import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { withConnection } from '../../src/data/tables/duckdb-engine.js';
import { CREDIT_TARGET } from '../../src/ml/index.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';
import { uniq } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * `sextant predict`: a dataset version scored through the serving code, the predictions registered as
 * a dataset version derived from the input, and a run that records both, on both transports.
 */

const outcome = z.strictObject({
  runId: z.string(),
  model: z.strictObject({ ref: z.string(), name: z.string(), version: z.number() }),
  input: z.strictObject({ ref: z.string(), digest: z.string(), rows: z.number() }),
  output: z.strictObject({ ref: z.string(), digest: z.string(), path: z.string().nullable() }),
  rowsPerSecond: z.number().positive(),
});

async function readParquet(file: string, sql: string): Promise<Record<string, unknown>[]> {
  return withConnection(async (c) =>
    (await c.runAndReadAll(sql.replace('$file', `read_parquet('${file}')`))).getRowObjectsJS(),
  );
}

describe('sextant predict', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let chain: Chain;
  let local: Record<string, string>;
  let remote: Record<string, string>;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-predict-'));
    local = { SEXTANT_HOME: home };
    ws = await openWorkspace(loadConfig(local));
    app = await buildApp(ws);
    remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
    chain = await buildChain(ws);
    await chain.train(1);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await ws?.close();
    chain?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('scores every row as serving would, registers the predictions with their lineage and records the run', async () => {
    const out = path.join(home, 'preds.parquet');
    const r = await cli(
      local,
      '--json',
      'predict',
      `${chain.model}@1`,
      '--dataset',
      `${chain.credit}@1`,
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    const result = outcome.parse(JSON.parse(r.out));
    expect(result.input.rows).toBe(300);
    expect(result.output.ref).toBe(`${chain.credit}-predictions@1`);

    // The same answers the online path gives for the same rows.
    const [summary] = await readParquet(
      out,
      'SELECT count(*)::INTEGER AS n, typeof(any_value(prediction)) AS t FROM $file',
    );
    expect(summary).toEqual({ n: 300, t: 'BIGINT' });
    const first = await readParquet(out, 'SELECT * FROM $file LIMIT 5');
    const runtime = await ws.serving.openRuntime({
      actor: 'ada',
      model: `${chain.model}@1`,
      name: uniq('online'),
    });
    try {
      const features = Object.keys(first[0]!).filter(
        (k) => k !== CREDIT_TARGET && k !== 'prediction' && !k.startsWith('probability_'),
      );
      const plain = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
      const online = await runtime.predict({
        dataframe_records: first.map((row) => Object.fromEntries(features.map((f) => [f, plain(row[f])]))),
      });
      expect(first.map((row) => [Number(row.prediction), row.probability_1])).toEqual(
        online.items.map((p) => [p.prediction, p.probabilities?.['1']]),
      );
    } finally {
      await runtime.close();
    }

    // Lineage: the output version derives from the input and names the run; the run records both.
    const api = createLocalApi(ws);
    const version = await api.data.show(result.output.ref);
    expect(version.parents).toEqual([chain.datasetVersionId]);
    expect(version.producedByRunId).toBe(result.runId);
    const run = await api.runs.get(result.runId);
    expect(run.status).toBe('FINISHED');
    expect(run.inputs.map((i) => [i.direction, i.datasetVersionId]).sort()).toEqual([
      ['input', chain.datasetVersionId],
      ['output', version.id],
    ]);
    expect(run.params).toMatchObject({ model: `${chain.model}@1`, dataset: `${chain.credit}@1` });
  });

  it('works against a server too; the same content is the same output version', async () => {
    const r = await cli(remote, '--json', 'predict', `${chain.model}@1`, '--dataset', `${chain.credit}@1`);
    expect(r.code, r.err).toBe(0);
    const result = outcome.parse(JSON.parse(r.out));
    expect(result.output.ref).toBe(`${chain.credit}-predictions@1`);
    expect(result.output.path).toBeNull();
    // The version existed already: this run is linked to it as its output all the same.
    const run = await createLocalApi(ws).runs.get(result.runId);
    expect(run.inputs.filter((i) => i.direction === 'output').map((i) => i.name)).toEqual([
      `${chain.credit}-predictions`,
    ]);
  });

  it('names what is wrong: a dataset ref without a version (2), an unknown model (3)', async () => {
    const raw = await cli(local, 'predict', `${chain.model}@1`, '--dataset', `${chain.raw}`);
    expect(raw.code).toBe(2);
    expect(raw.err).toMatch(/<name>@<version>/);
    expect((await cli(local, 'predict', `${uniq('none')}@1`, '--dataset', `${chain.credit}@1`)).code).toBe(3);
  });
});
