/*
 * The benchmark's server process: clients of a real deployment are other processes, so the server
 * gets its own event loop (and core) instead of sharing one with the load generator.
 * Prints the port it listens on, then serves until SIGTERM.
 */

import { openWorkspace } from '../src/app/index.js';
import { loadConfig } from '../src/core/config.js';
import { buildApp } from '../src/server/app.js';

const workspace = await openWorkspace(loadConfig(process.env));
const app = await buildApp(workspace);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
// BENCH_WORK_QUEUES=default,...: this server also works those job queues (the kill loop's jobs).
const queues = (process.env.BENCH_WORK_QUEUES ?? '').split(',').filter(Boolean);
if (queues.length) workspace.jobs.work({ queues, concurrency: 4, leaseMs: 2_000 });
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
process.once('SIGTERM', async () => {
  await app.close();
  await workspace.close();
  process.exit(0);
});
