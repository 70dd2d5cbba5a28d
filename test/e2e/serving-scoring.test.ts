import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { buildServingApp } from '../../src/server/serving-app.js';
import { predictionOutputSchema } from '../../src/serving/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { mlflowErrorSchema, nativeError, uniq } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * Parity with MLflow's scoring server at /invocations: CSV bodies, 415 for other media types, errors
 * in MLflow's {error_code, message} shape, integer class labels answered as integers, and categories
 * the model never saw flagged per record. The behaviour lives above the store, so SQLite suffices.
 */

const predictReply = z.strictObject({
  predictions: z.array(
    predictionOutputSchema.extend({
      prediction_id: z.string().regex(/^pred_/),
      model: z.string(),
      version: z.number().int(),
      unseen_categories: z.record(z.string(), z.string()).optional(),
    }),
  ),
});

function csvOf(records: Record<string, unknown>[], header = Object.keys(records[0]!)): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[header.join(','), ...records.map((r) => header.map((h) => cell(r[h])).join(','))].join('\n')}\n`;
}

const send = (app: FastifyInstance, url: string, payload: string, contentType: string) =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

describeEachBackend(
  'MLflow scoring parity',
  (getStore) => {
    let t: TestApp;
    let chain: Chain;
    let name: string;
    let serve: FastifyInstance;

    beforeAll(async () => {
      t = await createTestApp(getStore());
      chain = await buildChain(t.services);
      await chain.train(1);
      await t.services.registry.aliases.set({
        actor: { name: 'ada', role: 'admin' },
        model: chain.model,
        alias: 'live',
        version: 1,
      });
      name = uniq('scoring');
      await t.services.serving.deployments.create({ actor: 'ada', name, model: `${chain.model}@live` });
      const runtime = await t.services.serving.openRuntime({ actor: 'ada', model: `${chain.model}@live` });
      serve = await buildServingApp({ services: t.services, runtime });
      await serve.ready();
    }, 120_000);
    afterAll(async () => {
      await serve?.close();
      await t?.close();
      chain?.cleanup();
    });

    it('integer class labels stay integers, on the deployment and on `sextant serve`', async () => {
      for (const [app, url] of [
        [t.app, `/api/v1/deployments/${name}/invocations`],
        [serve, '/invocations'],
      ] as const) {
        const res = await app.inject({
          method: 'POST',
          url,
          payload: { dataframe_records: chain.records },
        });
        expect(res.statusCode, res.body).toBe(200);
        const predictions = predictReply.parse(res.json()).predictions;
        for (const p of predictions) {
          expect(typeof p.prediction).toBe('number');
          expect([0, 1]).toContain(p.prediction);
          // Probabilities stay keyed by the class names (JSON object keys).
          expect(Object.keys(p.probabilities ?? {}).sort()).toEqual(['0', '1']);
        }
        const logged = await t.services.serving.predictions.get(predictions[0]!.prediction_id);
        expect(logged.outputs?.prediction).toBe(predictions[0]!.prediction);
      }
    });

    it('scores a text/csv body with a header row exactly as the same records sent as JSON', async () => {
      const asJson = predictReply.parse(
        (
          await t.app.inject({
            method: 'POST',
            url: `/api/v1/deployments/${name}/invocations`,
            payload: { dataframe_records: chain.records },
          })
        ).json(),
      ).predictions;
      // Columns in another order than the signature's: the header says which is which.
      const header = Object.keys(chain.records[0]!).reverse();
      for (const [app, url] of [
        [t.app, `/api/v1/deployments/${name}/invocations`],
        [serve, '/invocations'],
        [serve, '/predict'],
      ] as const) {
        const res = await send(app, url, csvOf(chain.records, header), 'text/csv; charset=utf-8');
        expect(res.statusCode, res.body).toBe(200);
        const asCsv = predictReply.parse(res.json()).predictions;
        expect(asCsv.map((p) => [p.prediction, p.probabilities])).toEqual(
          asJson.map((p) => [p.prediction, p.probabilities]),
        );
      }
    });

    it('a CSV header that does not name the features is a 400 naming the unknown and missing columns', async () => {
      const [first] = chain.records;
      const { age, ...rest } = first!;
      const wrong = csvOf([{ ...rest, agee: age }]);
      const res = await send(serve, '/invocations', wrong, 'text/csv');
      expect(res.statusCode).toBe(400);
      const err = mlflowErrorSchema.parse(res.json());
      expect(err.error_code).toBe('BAD_REQUEST');
      expect(err.message).toMatch(/unknown column 'agee'/);
      expect(err.message).toMatch(/missing column 'age'/);

      const notNumber = csvOf([{ ...first!, income: 'lots' }]);
      const bad = await send(t.app, `/api/v1/deployments/${name}/invocations`, notNumber, 'text/csv');
      expect(bad.statusCode).toBe(400);
      expect(mlflowErrorSchema.parse(bad.json()).message).toMatch(/csv\[0\]\.income must be a number/);
      // Nothing was logged for the refused bodies: the deployment logged no prediction with 'lots'.
      const page = await t.services.serving.predictions.list({ deployment: name, limit: 1000 });
      expect(page.predictions.some((p) => p.inputs.income === 'lots')).toBe(false);
    });

    it('JSON bodies: prototype poisoning, escaped or not, bad and empty JSON are 400s; escapes and charsets are read', async () => {
      const record = JSON.stringify(chain.records[0]);
      // Fastify's parser refuses the poisoned ones as invalid JSON (the scoring path's fast parse must too).
      const refused: [string, RegExp][] = [
        [`{"dataframe_records": [${record}], "__proto__": {"x": 1}}`, /not valid JSON/],
        [`{"dataframe_records": [${record}], "\\u005f_proto__": {"x": 1}}`, /not valid JSON/],
        [`{"dataframe_records": [${record}], "constructor": {"prototype": {"x": 1}}}`, /not valid JSON/],
        [`{"dataframe_records": [${record}]`, /not valid JSON/],
        ['', /JSON body is required/],
      ];
      for (const [payload, message] of refused) {
        const res = await send(serve, '/predict', payload, 'application/json');
        expect(res.statusCode, payload).toBe(400);
        expect(nativeError(res, 400, 'VALIDATION_FAILED').message).toMatch(message);
      }
      for (const contentType of ['application/json', 'application/json; charset=utf-8']) {
        // "\u0061ge" is "age": an escaped key is read as the key it spells.
        const escaped = record.replace('"age"', '"\\u0061ge"');
        expect(escaped).not.toBe(record);
        for (const payload of [escaped, `\ufeff${record}`, `{"dataframe_records": [${record}]}`]) {
          const res = await send(serve, '/predict', payload, contentType);
          expect(res.statusCode, res.body).toBe(200);
          expect(predictReply.parse(res.json()).predictions).toHaveLength(1);
        }
      }
    });

    it('other media types are a 415 naming the accepted ones; /predict keeps the native error shape', async () => {
      for (const [app, url] of [
        [t.app, `/api/v1/deployments/${name}/invocations`],
        [serve, '/invocations'],
      ] as const) {
        const res = await send(app, url, '<records/>', 'application/xml');
        expect(res.statusCode).toBe(415);
        const err = mlflowErrorSchema.parse(res.json());
        expect(err.message).toMatch(/application\/json/);
        expect(err.message).toMatch(/text\/csv/);
        expect(err.message).toMatch(/'application\/xml'/);
      }
      const native = nativeError(
        await send(t.app, `/api/v1/deployments/${name}/predict`, 'a=1', 'application/x-www-form-urlencoded'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      expect(native.message).toMatch(/text\/csv/);
      // A JSON error on /invocations is MLflow-shaped too.
      const bad = await t.app.inject({
        method: 'POST',
        url: `/api/v1/deployments/${name}/invocations`,
        payload: { dataframe_records: [{ nope: 1 }] },
      });
      expect(bad.statusCode).toBe(400);
      expect(mlflowErrorSchema.parse(bad.json()).error_code).toBe('BAD_REQUEST');
    });

    it('flags categories the model never saw, per record, instead of encoding them silently', async () => {
      const [known, other] = chain.records;
      const res = await serve.inject({
        method: 'POST',
        url: '/invocations',
        payload: {
          dataframe_records: [known, { ...other!, purpose: 'time-machine', home_ownership: 'castle' }],
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      const [a, b] = predictReply.parse(res.json()).predictions;
      expect(a!.unseen_categories).toBeUndefined();
      expect(b!.unseen_categories).toEqual({ purpose: 'time-machine', home_ownership: 'castle' });
      // Still answered and logged: the flag informs, it does not refuse.
      expect(typeof b!.prediction).toBe('number');
      const logged = await t.services.serving.predictions.get(b!.prediction_id);
      expect(logged.inputs.purpose).toBe('time-machine');
    });
  },
  ['sqlite'],
);
