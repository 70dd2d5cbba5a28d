import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { buildServingApp } from '../../src/server/serving-app.js';
import type { DeploymentRuntime } from '../../src/serving/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { mlflowErrorSchema, nativeErrorSchema } from './helpers.js';
import { buildChain, type Chain } from './serving-chain.js';

/*
 * `sextant serve`'s fast lane (src/server/scoring-lane.ts) over real HTTP: a scoring request it
 * answers gets what the Fastify route gives (a query string sends the same request through Fastify:
 * the lane never takes one), and every request it must not answer (a refused Host or Origin, a body
 * over the limit, another media type) is still refused as before. fastify.inject never reaches the
 * lane, so these tests listen on a port.
 */

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function post(
  base: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const predictions = z.strictObject({
  predictions: z.array(
    z.object({ prediction_id: z.string().regex(/^pred_/), prediction: z.unknown() }).passthrough(),
  ),
});

/** A reply's predictions without their ids (which differ per request). */
function withoutIds(r: Reply): unknown[] {
  return predictions.parse(JSON.parse(r.body)).predictions.map(({ prediction_id: _, ...rest }) => rest);
}

/** What two replies to the same request must share: status and body, prediction ids aside. */
function comparable(r: Reply): unknown {
  const body = JSON.parse(r.body) as { predictions?: unknown };
  return { status: r.status, body: body.predictions ? withoutIds(r) : body };
}

/** The header names a reply carries, but the date. */
const headerNames = (r: Reply) =>
  Object.keys(r.headers)
    .filter((h) => h !== 'date')
    .sort();

describeEachBackend(
  'the scoring lane of `sextant serve`',
  (getStore) => {
    let t: TestApp;
    let chain: Chain;
    let serve: FastifyInstance;
    let base: string;
    const requestKeys: (string | undefined)[] = [];
    /** While set, predict waits for it (and says it started): a request held in flight. */
    let hold: { started: () => void; gate: Promise<void> } | undefined;
    const BODY_LIMIT = 64 * 1024;

    beforeAll(async () => {
      t = await createTestApp(getStore());
      chain = await buildChain(t.services);
      await chain.train(1);
      const runtime = await t.services.serving.openRuntime({ actor: 'ada', model: `${chain.model}@1` });
      // The runtime as the app sees it, noting each request's key.
      const noting: DeploymentRuntime = {
        ...runtime,
        predict: async (body, opts) => {
          requestKeys.push(opts?.requestKey);
          if (hold) {
            hold.started();
            await hold.gate;
          }
          return runtime.predict(body, opts);
        },
      };
      serve = await buildServingApp({ services: t.services, runtime: noting, bodyLimit: BODY_LIMIT });
      await serve.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(serve.server.address() as AddressInfo).port}`;
    }, 120_000);
    afterAll(async () => {
      await serve?.close();
      await t?.close();
      chain?.cleanup();
    });

    const json = () => JSON.stringify({ dataframe_records: chain.records });

    it('answers a scoring request exactly as the Fastify route does', async () => {
      for (const path of ['/predict', '/invocations']) {
        const lane = await post(base, path, json());
        const route = await post(base, `${path}?explain=false`, json());
        expect(lane.status, lane.body).toBe(200);
        expect(route.status, route.body).toBe(200);
        expect(withoutIds(lane)).toEqual(withoutIds(route));
        expect(headerNames(lane)).toEqual(headerNames(route));
        expect(lane.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(lane.headers.connection).toBe('keep-alive');
      }
      // Every answered prediction is in the log, under the id the reply gave.
      const lane = await post(base, '/predict', json());
      const first = predictions.parse(JSON.parse(lane.body)).predictions[0]!;
      const logged = await t.services.serving.predictions.get(first.prediction_id);
      expect(logged.outputs?.prediction).toEqual(first.prediction);
    });

    it('reads text/csv and a charset-labelled JSON body, and a JSON body behind a byte-order mark', async () => {
      const header = Object.keys(chain.records[0]!);
      const csv = `${header.join(',')}\n${chain.records.map((r) => header.map((h) => String(r[h] ?? '')).join(',')).join('\n')}\n`;
      const expected = withoutIds(await post(base, '/predict', json()));
      const asCsv = await post(base, '/predict', csv, { 'content-type': 'text/csv' });
      expect(asCsv.status, asCsv.body).toBe(200);
      expect(withoutIds(asCsv)).toEqual(expected);
      const charset = await post(base, '/predict', json(), {
        'content-type': 'application/json; charset=utf-8',
      });
      expect(withoutIds(charset)).toEqual(expected);
      const bom = await post(base, '/predict', `\ufeff${json()}`);
      expect(comparable(bom)).toEqual(comparable(await post(base, '/predict?explain=0', `\ufeff${json()}`)));
    });

    it('passes X-Request-Key to the runtime, and no key when the header is empty', async () => {
      requestKeys.length = 0;
      await post(base, '/predict', json(), { 'content-type': 'application/json', 'x-request-key': 'cust-7' });
      await post(base, '/predict', json(), { 'content-type': 'application/json', 'x-request-key': '' });
      expect(requestKeys).toEqual(['cust-7', undefined]);
    });

    it('a body that is not JSON is a 400 naming the body, and the connection is closed after it', async () => {
      const native = await post(base, '/predict', '{"dataframe_records": [');
      expect(native.status).toBe(400);
      expect(nativeErrorSchema.parse(JSON.parse(native.body)).error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'body' },
      });
      expect(native.headers.connection).toBe('close');
      const mlflow = await post(base, '/invocations', 'not json');
      expect(mlflow.status).toBe(400);
      expect(mlflowErrorSchema.parse(JSON.parse(mlflow.body)).error_code).toBe('BAD_REQUEST');
    });

    it('refuses prototype poisoning as Fastify does', async () => {
      const body = `{"dataframe_records": ${JSON.stringify(chain.records)}, "__proto__": {"x": 1}}`;
      const lane = await post(base, '/predict', body);
      const route = await post(base, '/predict?explain=false', body);
      expect(lane.status).toBe(400);
      expect(comparable(lane)).toEqual(comparable(route));
    });

    it('a record the model refuses is a 400 whose field names the record and feature', async () => {
      const [first, ...rest] = chain.records;
      const { age: _, ...noAge } = first as Record<string, unknown>;
      const res = await post(base, '/predict', JSON.stringify({ dataframe_records: [noAge, ...rest] }));
      expect(res.status).toBe(400);
      expect(nativeErrorSchema.parse(JSON.parse(res.body)).error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'dataframe_records[0].age' },
      });
    });

    it('still refuses a foreign Host and a cross-origin browser write', async () => {
      const host = await post(base, '/predict', json(), {
        'content-type': 'application/json',
        host: 'attacker.example',
      });
      expect(host.status).toBe(403);
      expect(nativeErrorSchema.parse(JSON.parse(host.body)).error).toMatchObject({
        code: 'FORBIDDEN',
        details: { field: 'host' },
      });
      const origin = await post(base, '/invocations', json(), {
        'content-type': 'application/json',
        origin: 'https://attacker.example',
      });
      expect(origin.status).toBe(403);
      expect(mlflowErrorSchema.parse(JSON.parse(origin.body)).error_code).toBe('PERMISSION_DENIED');
      const site = await post(base, '/predict', json(), {
        'content-type': 'application/json',
        'sec-fetch-site': 'cross-site',
      });
      expect(site.status).toBe(403);
    });

    it('still answers a body over the limit with 413 and another media type with 415', async () => {
      const big = JSON.stringify({ dataframe_records: chain.records, pad: 'x'.repeat(BODY_LIMIT) });
      const tooLarge = await post(base, '/predict', big);
      expect(tooLarge.status).toBe(413);
      expect(nativeErrorSchema.parse(JSON.parse(tooLarge.body)).error.code).toBe('PAYLOAD_TOO_LARGE');
      const plain = await post(base, '/predict', '<records/>', { 'content-type': 'application/xml' });
      expect(plain.status).toBe(415);
      expect(nativeErrorSchema.parse(JSON.parse(plain.body)).error).toMatchObject({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        details: { field: 'content-type' },
      });
    });

    // Last: it closes the app.
    it('a scoring request in flight when the app closes is answered, and logged, before it stops', async () => {
      let release = () => {};
      let started = () => {};
      const inFlight = new Promise<void>((resolve) => (started = resolve));
      hold = { started, gate: new Promise<void>((resolve) => (release = resolve)) };
      const reply = post(base, '/predict', json());
      await inFlight;
      const closed = serve.close();
      release();
      const answered = await reply;
      await closed;
      expect(answered.status, answered.body).toBe(200);
      const first = predictions.parse(JSON.parse(answered.body)).predictions[0]!;
      expect((await t.services.serving.predictions.get(first.prediction_id)).outputs?.prediction).toEqual(
        first.prediction,
      );
    });
  },
  ['sqlite'],
);
