/*
 * The Sextant demo: three stories, each a failure Sextant exists to prevent, told on the embedded
 * default (SQLite + a local folder under SEXTANT_HOME, ./.sextant); no downloads, all data synthetic.
 *   npm run demo              all three, in order
 *   npm run demo -- audit     the audit: a declined application from three months ago, traced to its data
 *   npm run demo -- decay     the silent decay: drift, late labels, an alert, continuous training, recovery
 *   npm run demo -- gpu       the GPU bill: what drove the spend, a budget, the idle reaper
 * Each story sets up what it needs and is safe to run again on the same workspace. The demo ends by
 * verifying the audit chain every story wrote to. The feature-by-feature tour: npx tsx examples/tour.ts
 */
import path from 'node:path';
import { openWorkspace } from '../src/app/index.js';
import { createLocalApi } from '../src/cli/local-api.js';
import { loadConfig } from '../src/core/config.js';
import { isAppError } from '../src/core/errors.js';
import { auditStory } from './story-audit.js';
import { storyClock } from './story-clock.js';
import { decayStory } from './story-decay.js';
import { gpuBillStory } from './story-gpu-bill.js';

const STORIES = ['audit', 'decay', 'gpu'] as const;
type Story = (typeof STORIES)[number];

const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((a) => !(STORIES as readonly string[]).includes(a));
if (unknown.length) {
  console.error(`unknown story '${unknown[0]}': choose from ${STORIES.join(', ')} (or none for all three)`);
  process.exit(2);
}
const chosen: Story[] = asked.length ? (asked as Story[]) : [...STORIES];

// The stories print what matters; the services' own log lines (alerts firing, resolving) would drown it.
const config = loadConfig({ SEXTANT_LOG_LEVEL: 'error', ...process.env });
const clock = storyClock();
const ws = await openWorkspace(config, clock);
const api = createLocalApi(ws);
const workDir = path.join(config.home, 'demo-files');
const home = path.resolve(config.home);
const webUrl = `http://${config.host}:${config.port}`;
const timings: string[] = [];
try {
  console.log(`Sextant demo - workspace ${config.home}; stories: ${chosen.join(', ')}`);
  for (const story of chosen) {
    const started = performance.now();
    if (story === 'audit') await auditStory(ws, api, { workDir, clock, webUrl });
    else if (story === 'decay') await decayStory(ws, api, { workDir, clock, home, webUrl });
    else await gpuBillStory(ws, api, { workDir });
    clock.present();
    timings.push(`${story} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const verify = await api.audit.verify();
  console.log(
    `\nAudit chain: ${verify.ok ? 'OK' : 'BROKEN'} (${verify.entries} entries, head ${verify.head?.hash.slice(0, 16) ?? '-'}...); stories took ${timings.join(', ')}`,
  );
  if (!verify.ok) process.exitCode = 1;
} catch (err) {
  if (!isAppError(err)) throw err;
  console.error(`\n${err.code}: ${err.message}`);
  process.exitCode = 1;
} finally {
  await ws.close();
}
console.log(`\nWeb UI: npx sextant server, then open ${webUrl}/`);
