import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { withConnection } from '../../src/data/tables/duckdb-engine.js';
import { buildApp } from '../../src/server/app.js';
import { EXPORT_COLUMNS, EXPORT_COUNT_HEADER } from '../../src/serving/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { nativeError, uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * `predictions export`: a deployment's log over a window as CSV, JSON lines or Parquet, labels joined,
 * streamed page by page; an empty window is an empty export (with its header), not an error.
 */

const admin = { name: 'ada', role: 'admin' as const };
const ROWS = 2500;
const jsonlRow = z.strictObject({
  prediction_id: z.string().regex(/^pred_/),
  served_at: z.iso.datetime(),
  deployment: z.string(),
  model: z.string(),
  version: z.number().int(),
  alias: z.string().nullable(),
  role: z.enum(['champion', 'challenger']),
  request_key: z.string().nullable(),
  latency_ms: z.number(),
  inputs: z.record(z.string(), z.unknown()),
  prediction: z.union([z.number(), z.string(), z.null()]),
  probabilities: z.record(z.string(), z.number()).nullable(),
  outputs: z.record(z.string(), z.unknown()).nullable(),
  label: z.union([z.number(), z.string(), z.boolean()]).nullable(),
  label_received_at: z.iso.datetime().nullable(),
  status: z.enum(['ok', 'failed']),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
});

/** A sink that keeps what it is given and how many writes it took. */
function sink() {
  const chunks: string[] = [];
  const w = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { w, chunks, text: () => chunks.join('') };
}

/** Serves `rows` records on a new deployment and labels the first three; returns their prediction ids. */
async function serveAndLabel(t: TestApp, name: string, rows: number): Promise<string[]> {
  const model = uniq('tiny');
  await t.services.registry.versions.registerFile({
    actor: admin,
    model,
    filename: 'model.onnx',
    content: tinyOnnxModel(),
  });
  await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
  await t.services.serving.deployments.create({ actor: 'ada', name, model: `${model}@live` });
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/deployments/${name}/predict`,
    payload: Array.from({ length: rows }, (_, i) => [i, i % 7, -i]),
  });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  const ids = (res.json() as { predictions: { prediction_id: string }[] }).predictions.map(
    (p) => p.prediction_id,
  );
  await t.services.serving.feedback.submit({
    actor: 'ada',
    items: ids.slice(0, 3).map((id, k) => ({ prediction_id: id, label: k })),
  });
  return ids;
}

describeEachBackend('prediction log export', (getStore) => {
  let t: TestApp;
  let name: string;
  let ids: string[];
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp(getStore());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-export-'));
    name = uniq('exported');
    ids = await serveAndLabel(t, name, ROWS);
  }, 120_000);
  afterAll(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('CSV over HTTP: a header, one row per prediction with its label when known, and the count in a header', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/deployments/${name}/predictions/export` });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers[EXPORT_COUNT_HEADER]).toBe(String(ROWS));
    const lines = res.body.trimEnd().split('\n');
    expect(lines[0]).toBe(EXPORT_COLUMNS.map((c) => c.name).join(','));
    expect(lines).toHaveLength(ROWS + 1);
    const idAt = EXPORT_COLUMNS.findIndex((c) => c.name === 'prediction_id');
    expect(new Set(lines.slice(1).map((l) => l.split(',')[idAt]))).toEqual(new Set(ids));
    // The labelled ones carry their label and its time; then each row's status (all answered here).
    expect(lines.slice(1).every((l) => l.endsWith(',ok,,'))).toBe(true);
    const labelled = lines.slice(1).filter((l) => !l.endsWith(',,ok,,'));
    expect(labelled).toHaveLength(3);
  });

  it('JSON lines through the API are written page by page with the consumer setting the pace', async () => {
    const api = createLocalApi(t.services).serving;
    const s = sink();
    const summary = await api.predictions.export(name, { format: 'jsonl' }, s.w);
    expect(summary.count).toBe(ROWS);
    // Pages of 1000 rows: the rows never sat in memory as one piece.
    expect(s.chunks.length).toBeGreaterThanOrEqual(Math.ceil(ROWS / 1000));
    const rows = s
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => jsonlRow.parse(JSON.parse(l)));
    expect(rows).toHaveLength(ROWS);
    expect(rows.map((r) => r.prediction_id)).toEqual(ids);
    expect(rows.slice(0, 3).map((r) => r.label)).toEqual([0, 1, 2]);
    expect(rows.slice(3).every((r) => r.label === null && r.label_received_at === null)).toBe(true);
    expect(rows[5]!.inputs).toEqual({ f0: 5, f1: 5, f2: -5 });
  });

  it('Parquet holds the same rows, with typed columns, readable by DuckDB', async () => {
    const file = path.join(dir, 'preds.parquet');
    const out = fs.createWriteStream(file);
    const summary = await createLocalApi(t.services).serving.predictions.export(
      name,
      { format: 'parquet' },
      out,
    );
    await new Promise<void>((resolve) => out.end(resolve));
    expect(summary.count).toBe(ROWS);
    const [row] = await withConnection(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT count(*)::INTEGER AS n, count(label)::INTEGER AS labelled, max(version)::INTEGER AS v, typeof(any_value(served_at)) AS t FROM read_parquet('${file}')`,
        )
      ).getRowObjectsJS(),
    );
    expect(row).toEqual({ n: ROWS, labelled: 3, v: 1, t: 'TIMESTAMP WITH TIME ZONE' });
  });

  it('an empty window is an empty export with its header and a count of 0; bad windows name the field', async () => {
    const empty = await t.app.inject({
      method: 'GET',
      url: `/api/v1/deployments/${name}/predictions/export?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z`,
    });
    expect(empty.statusCode).toBe(200);
    expect(empty.headers[EXPORT_COUNT_HEADER]).toBe('0');
    expect(empty.body).toBe(`${EXPORT_COLUMNS.map((c) => c.name).join(',')}\n`);

    const reversed = nativeError(
      await t.app.inject({
        method: 'GET',
        url: `/api/v1/deployments/${name}/predictions/export?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z`,
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(reversed.details?.field).toBe('from');
    nativeError(
      await t.app.inject({ method: 'GET', url: `/api/v1/deployments/${name}/predictions/export?format=xml` }),
      400,
      'VALIDATION_FAILED',
    );
    nativeError(
      await t.app.inject({ method: 'GET', url: `/api/v1/deployments/${uniq('none')}/predictions/export` }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('sextant predictions export', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  let name: string;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-export-cli-'));
    local = { SEXTANT_HOME: home };
    ws = await openWorkspace(loadConfig(local));
    app = await buildApp(ws);
    remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
    name = uniq('cli-export');
    await serveAndLabel({ app, services: ws } as unknown as TestApp, name, 20);
  }, 120_000);
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('writes each format to a file on both transports, the same rows either way', async () => {
    for (const env of [local, remote]) {
      for (const format of ['csv', 'jsonl', 'parquet']) {
        const out = path.join(home, `${format}-${env === local ? 'local' : 'remote'}.${format}`);
        const r = await cli(env, 'predictions', 'export', name, '--format', format, '--out', out);
        expect(r.code, r.err).toBe(0);
        expect(r.err).toMatch(new RegExp(`exported 20 predictions of ${name}`));
        expect(fs.readdirSync(home).filter((f) => f.includes('.partial-'))).toEqual([]);
      }
    }
    for (const format of ['csv', 'jsonl', 'parquet']) {
      expect(fs.readFileSync(path.join(home, `${format}-local.${format}`)).length).toBe(
        fs.readFileSync(path.join(home, `${format}-remote.${format}`)).length,
      );
    }
    const jsonl = fs.readFileSync(path.join(home, 'jsonl-local.jsonl'), 'utf8').trimEnd().split('\n');
    expect(jsonl).toHaveLength(20);
    expect(jsonl.filter((l) => jsonlRow.parse(JSON.parse(l)).label !== null)).toHaveLength(3);
  });

  it('prints to stdout; an empty window says so and exits 0 with the header; bad options exit 2, unknown deployments 3', async () => {
    const piped = await cli(remote, 'predictions', 'export', name, '--format', 'jsonl');
    expect(piped.code, piped.err).toBe(0);
    expect(piped.out.trimEnd().split('\n')).toHaveLength(20);

    const out = path.join(home, 'empty.csv');
    const empty = await cli(
      local,
      'predictions',
      'export',
      name,
      '--to',
      '2001-01-01T00:00:00Z',
      '--out',
      out,
    );
    expect(empty.code, empty.err).toBe(0);
    expect(empty.err).toMatch(
      /no predictions of .* to 2001-01-01T00:00:00.000Z: the export is empty \(header only\)/,
    );
    expect(fs.readFileSync(out, 'utf8')).toBe(`${EXPORT_COLUMNS.map((c) => c.name).join(',')}\n`);

    const binary = await cli(local, 'predictions', 'export', name, '--format', 'parquet');
    expect(binary.code).toBe(2);
    expect(binary.err).toMatch(/--out/);
    expect((await cli(local, 'predictions', 'export', name, '--format', 'xml')).code).toBe(2);
    expect((await cli(remote, 'predictions', 'export', uniq('none'))).code).toBe(3);
  });
});
