import os from 'node:os';
import type { Command } from 'commander';
import { parseFeatureList } from '../ml/index.js';
import { batchPredict } from '../serving/index.js';
import type { CliContext } from './context.js';
import { registryPort } from './ml.command.js';
import { details, formatNumber } from './output.js';
import { progressLine } from './progress.js';

/** `sextant predict <model>@<alias|n> --dataset <name>@<v> [--out preds.parquet]`: batch scoring. */
export function registerPredictCommand(program: Command, ctx: () => CliContext): void {
  program
    .command('predict <model>')
    .description(
      'score every row of a dataset version with <model>@<alias|version>, through the serving code; the predictions become a new dataset version (parent: the input) and a run records both',
    )
    .requiredOption('-d, --dataset <name@version>', 'the dataset version to score')
    .option('--out <file>', 'also write the predictions here (Parquet)')
    .option(
      '--output-dataset <name>',
      'the dataset the predictions become a version of (default <dataset>-predictions)',
    )
    .option('-e, --experiment <id-or-name>', 'experiment of the run (created if the name is new)')
    .option(
      '--features <a,b,...>',
      "the dataset columns feeding the model's features, in order (default: by name, or for one float tensor the columns in order)",
    )
    .action(
      async (
        modelRef: string,
        o: { dataset: string; out?: string; outputDataset?: string; experiment?: string; features?: string },
      ) => {
        const c = ctx();
        const api = await c.api();
        const progress = progressLine(c);
        const result = await batchPredict(api, registryPort(api), {
          onProgress: (done, total) => progress.count('scoring', done, total, 'rows'),
          modelRef,
          datasetRef: o.dataset,
          out: o.out,
          outputDataset: o.outputDataset,
          experiment: o.experiment,
          ...(o.features !== undefined ? { features: parseFeatureList(o.features, '--features') } : {}),
          workDir: os.tmpdir(),
        }).finally(() => progress.end());
        if (c.json) return c.output.out(JSON.stringify(result));
        c.output.out(
          details([
            ['model', `${result.model.name}@${result.model.version}`],
            ['input', `${result.input.ref} (${result.input.rows} rows)`],
            ['output', `${result.output.ref}${result.output.path ? ` and ${result.output.path}` : ''}`],
            ['run', result.runId],
            ['speed', `${formatNumber(result.rowsPerSecond)} rows/s (scoring)`],
          ]),
        );
      },
    );
}
