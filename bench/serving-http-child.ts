/*
 * The child of bench/serving-http.bench.ts: `sextant serve`'s app over a runtime that answers at once
 * (no model, no log), so the process's CPU per request is the HTTP layer's. Prints its port.
 */
import type { AddressInfo } from 'node:net';
import type { Services } from '../src/app/index.js';
import { buildServingApp } from '../src/server/serving-app.js';
import type { DeploymentRuntime, PredictResponseItem } from '../src/serving/index.js';

const item = (i: number): PredictResponseItem => ({
  prediction_id: `pred_01jabcdefghjkmnpqrstvwxyz${i}`,
  model: 'bench',
  version: 1,
  prediction: 1,
  probabilities: { '0': 0.25, '1': 0.75 },
});

const runtime = {
  deployment: { name: 'bench' },
  predict: async (body: unknown) => {
    const n = (body as { dataframe_records?: unknown[] }).dataframe_records?.length ?? 1;
    return { items: Array.from({ length: n }, (_, i) => item(i)), served: {} };
  },
  ready: () => true,
  close: async () => {},
} as unknown as DeploymentRuntime;

const app = await buildServingApp({ services: {} as unknown as Services, runtime });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${(app.server.address() as AddressInfo).port}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
