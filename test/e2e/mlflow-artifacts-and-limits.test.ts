import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../support/backends.js';
import {
  AJAX,
  empty,
  kv,
  mlflowError,
  mlflowFileInfoSchema,
  ok,
  PROXY,
  uniq,
  useMlflowApp,
} from './helpers.js';

/*
 * The rest of what an MLflow 2.x client relies on: the artifact proxy stores bytes exactly as sent,
 * the UI's /ajax-api prefix answers like /api, params never change, and log-batch keeps MLflow's limits.
 */
describeEachBackend('MLflow artifacts, ajax-api and log-batch rules', (getStore) => {
  const { app, client: c, newExperiment, newRun, getRun, logBatch } = useMlflowApp(getStore);

  describe('artifacts through the proxy', () => {
    it('stores the bytes exactly as sent, whatever the content type, and lists them both ways', async () => {
      const exp = await newExperiment();
      const { info } = await newRun(exp);
      const base = `${PROXY}/${exp}/${info.run_id}/artifacts`;
      const uploads = [
        { name: 'raw.bin', bytes: randomBytes(4096), headers: {} },
        {
          name: 'octet.bin',
          bytes: Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0x80]), randomBytes(1000)]),
          headers: { 'content-type': 'application/octet-stream' },
        },
        {
          name: 'notes – v1 (é).txt',
          bytes: Buffer.from('ünïcödé\r\n'),
          headers: { 'content-type': 'text/plain' },
        },
        {
          name: 'model.json',
          bytes: Buffer.from('{ "b" : 2,\n  "a":1 }\n'),
          headers: { 'content-type': 'application/json' },
        },
      ];
      for (const u of uploads) {
        ok(
          await app().inject({
            method: 'PUT',
            url: `${base}/dir/${encodeURIComponent(u.name)}`,
            payload: u.bytes,
            headers: u.headers,
          }),
          empty,
        );
      }
      for (const u of uploads) {
        const res = await app().inject({ method: 'GET', url: `${base}/dir/${encodeURIComponent(u.name)}` });
        expect(res.statusCode).toBe(200);
        expect(res.rawPayload.equals(u.bytes), `${u.name} comes back byte-identical`).toBe(true);
      }
      const listing = z.strictObject({ files: z.array(mlflowFileInfoSchema) });
      const inDir = ok(
        await app().inject({ method: 'GET', url: `${PROXY}?path=${exp}/${info.run_id}/artifacts/dir` }),
        listing,
      );
      expect(inDir.files.map((f) => f.path).sort()).toEqual([
        'model.json',
        'notes – v1 (é).txt',
        'octet.bin',
        'raw.bin',
      ]);
      expect(inDir.files.find((f) => f.path === 'raw.bin')?.file_size).toBe(4096);
      const atRoot = ok(
        await app().inject({ method: 'GET', url: `${PROXY}?path=${exp}/${info.run_id}/artifacts` }),
        listing,
      );
      expect(atRoot.files).toEqual([{ path: 'dir', is_dir: true }]);

      const listed = ok(
        await c.get('artifacts/list', { run_id: info.run_id, path: 'dir' }),
        z.strictObject({ root_uri: z.string(), files: z.array(mlflowFileInfoSchema) }),
      );
      expect(listed.root_uri).toBe(info.artifact_uri);
      expect(listed.files.map((f) => f.path).sort()).toEqual([
        'dir/model.json',
        'dir/notes – v1 (é).txt',
        'dir/octet.bin',
        'dir/raw.bin',
      ]);
    });
  });

  it('answers the GET endpoints the same under /ajax-api/2.0/mlflow', async () => {
    const name = uniq('ajax');
    const exp = await newExperiment(name);
    const { info } = await newRun(exp);
    ok(await logBatch(info.run_id, { metrics: [{ key: 'm', value: 1, timestamp: '5', step: '0' }] }), empty);
    const gets: [string, Record<string, string | string[]>][] = [
      ['experiments/get', { experiment_id: exp }],
      ['experiments/get-by-name', { experiment_name: name }],
      ['experiments/search', { filter: `name = '${name}'` }],
      ['runs/get', { run_id: info.run_id }],
      ['runs/search', { experiment_ids: [exp] }],
      ['metrics/get-history', { run_id: info.run_id, metric_key: 'm' }],
      ['artifacts/list', { run_id: info.run_id }],
    ];
    for (const [path, fields] of gets) {
      const api = await c.get(path, fields);
      const ajax = await c.get(path, fields, AJAX);
      expect(api.statusCode, `${path}: ${api.body}`).toBe(200);
      expect(ajax.statusCode, `${path}: ${ajax.body}`).toBe(200);
      expect(ajax.json(), path).toEqual(api.json());
    }
  });

  it('params are immutable: the same value again is fine, another value is refused and nothing of that batch is stored', async () => {
    const { info } = await newRun(await newExperiment());
    ok(await logBatch(info.run_id, { params: [{ key: 'lr', value: '0.01' }] }), empty);
    ok(await logBatch(info.run_id, { params: [{ key: 'lr', value: '0.01' }] }), empty);
    ok(await c.post('runs/log-parameter', { run_id: info.run_id, key: 'lr', value: '0.01' }), empty);
    const refused = await logBatch(info.run_id, {
      metrics: [{ key: 'loss', value: 1, timestamp: '1', step: '0' }],
      params: [
        { key: 'batch', value: '32' },
        { key: 'lr', value: '0.1' },
      ],
      tags: [{ key: 'sneaky', value: 'yes' }],
    });
    expect(mlflowError(refused, 400, 'INVALID_PARAMETER_VALUE')).toContain('lr');
    mlflowError(
      await c.post('runs/log-parameter', { run_id: info.run_id, key: 'lr', value: '0.2' }),
      400,
      'INVALID_PARAMETER_VALUE',
    );
    const run = await getRun(info.run_id);
    expect(kv(run.data.params)).toEqual({ lr: '0.01' });
    expect(run.data.metrics).toEqual([]);
    expect(kv(run.data.tags)).not.toHaveProperty('sneaky');
  });

  it("enforces MLflow's log-batch limits, storing nothing of a refused batch", async () => {
    const { info } = await newRun(await newExperiment());
    const metric = (i: number) => ({ key: `m${i % 10}`, value: i, timestamp: '1', step: String(i) });
    const param = (i: number) => ({ key: `p${i}`, value: 'v' });
    const cases: [string, Record<string, unknown>][] = [
      ['1001 metrics', { metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }],
      ['101 params', { params: Array.from({ length: 101 }, (_, i) => param(i)) }],
      ['a 251-character key', { metrics: [{ ...metric(1), key: 'k'.repeat(251) }] }],
      ['a 6001-character param value', { params: [{ key: 'long', value: 'v'.repeat(6001) }] }],
    ];
    for (const [, body] of cases)
      mlflowError(await logBatch(info.run_id, body), 400, 'INVALID_PARAMETER_VALUE');
    const huge = {
      params: [{ key: 'blob', value: 'x' }],
      tags: [{ key: 'big', value: 'y'.repeat(1024 * 1024 + 10) }],
    };
    mlflowError(await logBatch(info.run_id, huge), 413, 'RESOURCE_LIMIT_EXCEEDED');
    // The largest batches inside the limits are accepted.
    ok(await logBatch(info.run_id, { metrics: Array.from({ length: 1000 }, (_, i) => metric(i)) }), empty);
    ok(
      await logBatch(info.run_id, {
        params: [
          ...Array.from({ length: 99 }, (_, i) => param(i)),
          { key: 'k'.repeat(250), value: 'v'.repeat(6000) },
        ],
      }),
      empty,
    );
    const run = await getRun(info.run_id);
    expect(run.data.params).toHaveLength(100);
    expect(kv(run.data.params)).not.toHaveProperty('blob');
    expect(kv(run.data.tags)).not.toHaveProperty('big');
  });
});
