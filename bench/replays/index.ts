import { execFileSync } from 'node:child_process';

/*
 * `npm run bench:replays`: each replay of published pain in its own process (one prints its figure
 * and the anchor's beside it); REPLAYS=mlflow-2730,dvc-10251 picks some. Scale knobs: see each file.
 */

const ALL = ['mlflow-2730', 'dvc-10251'];
const chosen = (process.env.REPLAYS ?? ALL.join(',')).split(',').filter(Boolean);
let failed = 0;
for (const name of chosen) {
  if (!ALL.includes(name)) throw new Error(`REPLAYS: unknown replay '${name}' (one of ${ALL.join(', ')})`);
  try {
    execFileSync(
      process.execPath,
      ['--import', 'tsx', new URL(`./${name}.replay.ts`, import.meta.url).pathname],
      { stdio: 'inherit' },
    );
  } catch {
    failed++;
    console.log(`replay ${name}: FAILED (see above)`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
