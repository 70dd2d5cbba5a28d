import { spawn } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { fmtInt, fmtRatio, intEnv, median, printTable, processCpuMs } from './support.js';

/*
 * The HTTP layer of `sextant serve` alone (npx tsx bench/serving-http.bench.ts): its app over a
 * runtime that answers at once, in a child process, loaded by autocannon from this one. The same
 * server is asked two ways in alternating rounds:
 *   lane     POST /predict: the scoring lane (src/server/scoring-lane.ts) answers it
 *   fastify  POST /predict labelled `application/json;charset=utf-8` (no space): a spelling the lane
 *            leaves to Fastify's route, which reads it as JSON all the same
 * Prints the child's CPU time per request (all threads, from /proc), which a busy machine moves far
 * less than requests/s. Knobs: BENCH_HTTP_SECONDS (3), BENCH_HTTP_ROUNDS (3), BENCH_HTTP_BATCH (32).
 */

const SECONDS = intEnv('BENCH_HTTP_SECONDS', 3);
const ROUNDS = intEnv('BENCH_HTTP_ROUNDS', 3);
const BATCH = intEnv('BENCH_HTTP_BATCH', 32);

const child = spawn(
  process.execPath,
  ['--import', 'tsx', new URL('./serving-http-child.ts', import.meta.url).pathname],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const port = await new Promise<number>((resolve) => {
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    if (buf.includes('\n')) resolve(Number(buf.trim()));
  });
});

const LANE = 'application/json';
const FASTIFY = 'application/json;charset=utf-8';

async function run(contentType: string, body: string): Promise<{ cpuUs: number; reqPerSec: number }> {
  const cpu0 = processCpuMs(child.pid);
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/predict`,
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    connections: 32,
    duration: SECONDS,
  });
  return {
    cpuUs: ((processCpuMs(child.pid) - cpu0) * 1000) / Math.max(1, r['2xx']),
    reqPerSec: r['2xx'] / r.duration,
  };
}

const record = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x${i}`, i / 7]));
const rows: string[][] = [];
const load0 = os.loadavg()[0]!;
for (const n of [1, BATCH]) {
  const body = JSON.stringify({ dataframe_records: Array.from({ length: n }, () => record) });
  const s = {
    lane: [] as number[],
    fastify: [] as number[],
    laneRps: [] as number[],
    fastifyRps: [] as number[],
  };
  await run(LANE, body);
  await run(FASTIFY, body);
  for (let k = 0; k < ROUNDS; k++) {
    const a = await run(LANE, body);
    const b = await run(FASTIFY, body);
    s.lane.push(a.cpuUs);
    s.fastify.push(b.cpuUs);
    s.laneRps.push(a.reqPerSec);
    s.fastifyRps.push(b.reqPerSec);
  }
  const lane = median(s.lane);
  const fastify = median(s.fastify);
  rows.push([
    n === 1 ? '1 record' : `${n} records`,
    fmtInt(median(s.fastifyRps)),
    fmtInt(median(s.laneRps)),
    fastify.toFixed(1),
    lane.toFixed(1),
    fmtRatio(fastify / lane),
  ]);
}
console.log(
  `\nsextant serve's HTTP layer (a runtime that answers at once), 32 connections, medians of ${ROUNDS} alternating rounds of ${SECONDS} s; load average ${load0.toFixed(2)} before / ${os.loadavg()[0]!.toFixed(2)} after\n`,
);
printTable(
  ['BODY', 'FASTIFY REQ/S', 'LANE REQ/S', 'FASTIFY CPU US/REQ', 'LANE CPU US/REQ', 'FASTIFY/LANE CPU'],
  rows,
);
child.kill('SIGTERM');
