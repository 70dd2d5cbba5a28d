import { canonicalJson } from '../src/core/hashing.js';
import { type ModelVersion, registerEndpointBodySchema } from '../src/registry/index.js';
import { openGatewayModel, probeEndpoint } from '../src/serving/index.js';
import { startNodeModelServer } from '../test/support/model-servers.js';
import { fmtInt, fmtRatio, intEnv, median, nowMs, printTable, progress } from './support.js';

/*
 * Gateway overhead (npx tsx bench/gateway.bench.ts). Prints calls/s and a ratio; asserts nothing.
 * The Node model server of the tests (MLflow /invocations) answers BENCH_GATEWAY_CALLS calls of
 * BENCH_GATEWAY_ROWS records, two ways, alternating, BENCH_GATEWAY_REPEATS times each, medians compared:
 *   bare     fetch + JSON.stringify/parse of the dataframe_split body, nothing else (the least a client does);
 *   gateway  the ServingModel the gateway opens: breaker, timeout signal, adapter, output normalisation.
 * Record checking, the prediction log and HTTP in front of Sextant are left out of both.
 */

const CALLS = intEnv('BENCH_GATEWAY_CALLS', 500);
const ROWS = intEnv('BENCH_GATEWAY_ROWS', 10);
const REPEATS = intEnv('BENCH_GATEWAY_REPEATS', 5);

async function main(): Promise<void> {
  const server = await startNodeModelServer();
  try {
    const features = ['f0', 'f1', 'f2'].map((name) => ({ name, type: 'float' as const }));
    const body = registerEndpointBodySchema.parse({
      url: server.url,
      protocol: 'mlflow',
      features,
      task: 'classification',
      classes: ['0', '1'],
    });
    const probed = await probeEndpoint('bench', body);
    const version = {
      model: 'bench',
      version: 1,
      format: 'endpoint',
      signature: { inputs: [], outputs: [], declared: { ...probed.declared, inputs: features } },
    } as unknown as ModelVersion;
    const model = await openGatewayModel(new TextEncoder().encode(canonicalJson(probed.spec)), version);
    const records = Array.from({ length: ROWS }, (_, i) => ({ f0: i, f1: -i, f2: i / 2 }));

    const bare = async () => {
      const data = records.map((r) => [r.f0, r.f1, r.f2]);
      for (let k = 0; k < CALLS; k++) {
        const res = await fetch(`${server.url}/invocations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ dataframe_split: { columns: ['f0', 'f1', 'f2'], data } }),
        });
        await res.json();
      }
    };
    const gateway = async () => {
      for (let k = 0; k < CALLS; k++) await model.predict(records);
    };
    const times: Record<'bare' | 'gateway', number[]> = { bare: [], gateway: [] };
    await bare();
    await gateway();
    for (let r = 0; r < REPEATS; r++) {
      for (const [name, fn] of [
        ['bare', bare],
        ['gateway', gateway],
      ] as const) {
        progress(`${name} ${r + 1}/${REPEATS}`);
        const t0 = nowMs();
        await fn();
        times[name].push(nowMs() - t0);
      }
    }
    const perSec = (ms: number) => (CALLS * 1000) / ms;
    const b = perSec(median(times.bare));
    const g = perSec(median(times.gateway));
    printTable(
      ['way', `calls/s (${ROWS} records each, sequential)`, 'vs bare'],
      [
        ['bare fetch', fmtInt(b), '1.00x'],
        ['gateway', fmtInt(g), fmtRatio(g / b)],
      ],
    );
  } finally {
    await server.stop();
  }
}

await main();
