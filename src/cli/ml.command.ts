import os from 'node:os';
import type { Command } from 'commander';
import { localPrincipal } from '../auth/index.js';
import type { SextantApi } from '../client/index.js';
import { ValidationError } from '../core/errors.js';
import { meterInProcess } from '../cost/index.js';
import {
  type EvaluateOutcome,
  evaluateModel,
  type IterationInfo,
  inProcessTrialRunner,
  type ModelRegistryPort,
  parseFeatureList,
  parseGrid,
  parseRanges,
  runSweep,
  type Task,
  type TrainerKind,
  trainModel,
} from '../ml/index.js';
import type { ModelVersion } from '../registry/index.js';
import { openExternalScorer } from '../serving/index.js';
import type { CliContext } from './context.js';
import { gitInfo } from './git-info.js';
import { details, formatNumber, parsePairs, table } from './output.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

/** A number option, or a usage error naming it. */
function numberOption(raw: string | undefined, option: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new ValidationError(`${option}: expected a number, got '${raw}'`, { field: option });
  return n;
}

function featureList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new ValidationError('--features: give column names separated by commas', { field: 'features' });
  return list;
}

/** The command line, rebuilt from the parsed options, for the run's record. */
function commandLine(name: string, o: Record<string, unknown>): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const args = ['sextant', name];
  for (const [k, v] of Object.entries(o)) {
    const flag = `--${k.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}`;
    for (const item of Array.isArray(v) ? v : [v]) args.push(flag, quote(String(item)));
  }
  return args.join(' ');
}

/** The registry as ml needs it: version lookup and the registered file's bytes. */
export function registryPort(api: SextantApi): ModelRegistryPort {
  return {
    resolve: (ref) => api.models.version(ref),
    download: async (ref) => {
      const chunks: Buffer[] = [];
      for await (const c of await api.models.download(ref)) chunks.push(c as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    },
    // External models (the gateway) score through their model server, as serving runs them.
    openExternal: (bytes, version) => openExternalScorer(bytes, version as unknown as ModelVersion),
  };
}

function metricRows(metrics: Record<string, number>): (string | number)[][] {
  return Object.entries(metrics).map(([k, v]) => [k, formatNumber(v)]);
}

function printEvaluation(c: CliContext, r: EvaluateOutcome): void {
  const parts = [
    details([
      ['model', r.model.ref ?? r.model.runId],
      ['artifact', r.model.artifact],
      ['model sha256', r.model.sha256],
      ['dataset', `${r.dataset.ref} (${r.dataset.digest.slice(0, 12)})`],
      ['task', r.task],
      ['target', r.target],
      ['rows', r.rows],
    ]),
    table(['METRIC', 'VALUE'], metricRows(r.metrics)),
  ];
  if ('macroF1' in r.details) {
    const d = r.details;
    parts.push(
      table(
        ['CLASS', 'SUPPORT', 'PRECISION', 'RECALL', 'F1'],
        d.perClass.map((k) => [
          k.class,
          k.support,
          formatNumber(k.precision),
          formatNumber(k.recall),
          formatNumber(k.f1),
        ]),
      ),
    );
    parts.push(
      table(
        ['ACTUAL \\ PREDICTED', ...d.classes],
        d.confusion.map((row, a) => [d.classes[a]!, ...row]),
      ),
    );
  } else if ('confusion' in r.details) {
    const m = r.details.confusion;
    parts.push(
      table(
        ['', 'PREDICTED 0', 'PREDICTED 1'],
        [
          ['actual 0', m.tn, m.fp],
          ['actual 1', m.fn, m.tp],
        ],
      ),
    );
    parts.push(
      table(
        ['BIN', 'COUNT', 'MEAN PREDICTED', 'FRACTION POSITIVE'],
        r.details.calibration
          .filter((b) => b.count > 0)
          .map((b) => [
            `${b.lower.toFixed(1)}-${b.upper.toFixed(1)}`,
            b.count,
            formatNumber(b.meanPredicted),
            formatNumber(b.fractionPositive),
          ]),
      ),
    );
  }
  if (r.slices) {
    const keys = Object.keys(r.slices.values[0]?.metrics ?? {});
    parts.push(
      table(
        [r.slices.column.toUpperCase(), 'COUNT', ...keys.map((k) => k.toUpperCase())],
        r.slices.values.map((s) => [s.slice, s.count, ...keys.map((k) => formatNumber(s.metrics[k]!))]),
      ),
    );
  }
  c.output.out(parts.join('\n\n'));
}

/** `sextant train`, `evaluate` and `sweep`: the built-in trainers as tracked runs. */
export function registerMlCommands(program: Command, ctx: Ctx): void {
  program
    .command('train')
    .requiredOption('-d, --dataset <name@version>', 'dataset version to train on')
    .requiredOption('--target <column>', 'the column to predict')
    .requiredOption('-m, --model <kind>', 'linear | gbdt')
    .option('-p, --param <k=v...>', 'trainer params (see docs/ml-trainers.md)')
    .option('--seed <n>', 'seeds the trainer and the validation split', '0')
    .option('--features <a,b,...>', 'feature columns (default: all but the target)')
    .option('--task <task>', 'classification | regression (default: inferred from the target)')
    .option('--val-fraction <f>', 'rows held out for validation', '0.2')
    .option('-e, --experiment <id-or-name>', 'experiment (created if the name is new)')
    .option('-n, --name <name>', 'run name')
    .action(
      async (o: {
        dataset: string;
        target: string;
        model: string;
        param?: string[];
        seed: string;
        features?: string;
        task?: string;
        valFraction: string;
        experiment?: string;
        name?: string;
      }) => {
        const c = ctx();
        const api = await c.api();
        const git = gitInfo(process.cwd());
        const features = featureList(o.features);
        const progress = progressLine(c);
        const metricName = (info: IterationInfo) =>
          info.validation ? `  val loss ${formatNumber(info.validation.loss)}` : '';
        // Metered like `sextant run --` (sweep trials are metered as jobs): the trainer runs in this
        // process, so the in-process meter gives its CPU time and memory. The built-in trainers use no
        // GPU, and sampling every device of the machine would charge this run for others' work.
        const meter = meterInProcess('run');
        const result = await trainModel(
          api,
          {
            datasetRef: o.dataset,
            target: o.target,
            kind: o.model as TrainerKind,
            ...(o.task ? { task: o.task as Task } : {}),
            params: parsePairs(o.param, '--param'),
            seed: numberOption(o.seed, '--seed')!,
            valFraction: numberOption(o.valFraction, '--val-fraction')!,
            ...(features ? { features } : {}),
          },
          {
            ...(o.experiment ? { experiment: o.experiment } : {}),
            ...(o.name ? { runName: o.name } : {}),
            ...(git ? { gitCommit: git.commit, gitDirty: git.dirty } : {}),
            command: commandLine('train', o),
            workDir: os.tmpdir(),
            onIteration: (info) =>
              progress.count(
                'training',
                info.iteration,
                info.of ?? info.iteration,
                o.model === 'gbdt' ? 'trees' : 'iterations',
                metricName(info).trim(),
              ),
          },
        ).finally(() => progress.end());
        try {
          await api.cost.recordUsage(meter.stop({ runId: result.runId }));
        } catch (err) {
          // The trained model matters more than its cost line: say so and go on.
          c.output.err(`sextant: could not record the run's usage: ${(err as Error).message}`);
        }
        if (c.json)
          return c.output.out(
            JSON.stringify({
              runId: result.runId,
              metrics: result.metrics,
              modelSha256: result.modelSha256,
              warnings: result.warnings ?? [],
            }),
          );
        for (const w of result.warnings ?? []) c.output.err(`warning: ${w}`);
        c.output.out(
          [
            details([
              ['run', `${result.runId} (${result.runName})`],
              ['status', result.status],
              ['task', result.task],
              ['iterations', result.iterations],
              ['model sha256', result.modelSha256],
              ['onnx parity', `max abs diff ${formatNumber(result.onnxMaxAbsDiff)}`],
            ]),
            table(['METRIC', 'VALUE'], metricRows(result.metrics)),
            `see: sextant runs show ${result.runId}`,
          ].join('\n\n'),
        );
      },
    );

  program
    .command('evaluate [model]')
    .option('--run <run-id>', 'the run holding the model')
    .requiredOption('-d, --dataset <name@version>', 'dataset version to score')
    .option('--target <column>', 'target column (required for an ONNX model without signature.json)')
    .option('--slice <column>', 'metrics per value of this column too')
    .option(
      '--features <a,b,...>',
      "the dataset columns feeding the model's features, in order (default: its signature's names, or for one float tensor the columns in order)",
    )
    .action(
      async (
        modelRef: string | undefined,
        o: { run?: string; dataset: string; target?: string; slice?: string; features?: string },
      ) => {
        const c = ctx();
        const api = await c.api();
        const result = await evaluateModel(
          api,
          {
            ...(modelRef ? { modelRef } : {}),
            ...(o.run ? { runId: o.run } : {}),
            datasetRef: o.dataset,
            ...(o.target ? { target: o.target } : {}),
            ...(o.slice ? { slice: o.slice } : {}),
            ...(o.features !== undefined ? { features: parseFeatureList(o.features, '--features') } : {}),
            workDir: os.tmpdir(),
          },
          registryPort(api),
        );
        if (c.json)
          return c.output.out(
            JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
          );
        printEvaluation(c, result);
      },
    );

  program
    .command('sweep')
    .requiredOption('-d, --dataset <name@version>', 'dataset version to train on')
    .requiredOption('--target <column>', 'the column to predict')
    .requiredOption('-m, --model <kind>', 'linear | gbdt')
    .option('--grid <k=v1,v2...>', 'values to try per param (every combination)')
    .option('--random <n>', 'this many random trials from --param-range')
    .option('--param-range <range...>', 'ranges for --random, each k=lo:hi or k=lo:hi:log')
    .option('-p, --param <k=v...>', 'params fixed for every trial')
    .option(
      '--parallel <n>',
      'trials this process runs at once (sweep.trial jobs; workers take them too)',
      '1',
    )
    .option('--early-stop <rule>', 'median | none', 'none')
    .option('--warmup <n>', 'iterations before the median rule may stop a trial', '10')
    .option('--seed <n>', 'seeds every trial, the shared validation split and random draws', '0')
    .option('--features <a,b,...>', 'feature columns (default: all but the target)')
    .option('--task <task>', 'classification | regression (default: inferred)')
    .option('--val-fraction <f>', 'rows held out for validation', '0.2')
    .option('-e, --experiment <id-or-name>', 'experiment (created if the name is new)')
    .option('-n, --name <name>', 'parent run name')
    .action(
      async (o: {
        dataset: string;
        target: string;
        model: string;
        grid?: string[];
        random?: string;
        paramRange?: string[];
        param?: string[];
        parallel: string;
        earlyStop: string;
        warmup: string;
        seed: string;
        features?: string;
        task?: string;
        valFraction: string;
        experiment?: string;
        name?: string;
      }) => {
        const c = ctx();
        if (o.earlyStop !== 'median' && o.earlyStop !== 'none')
          throw new ValidationError(`--early-stop: must be median or none, got '${o.earlyStop}'`, {
            field: 'earlyStop',
          });
        if (o.random !== undefined && !o.paramRange?.length)
          throw new ValidationError('--random: give the ranges with --param-range k=lo:hi[:log]', {
            field: 'paramRange',
          });
        const features = featureList(o.features);
        const api = await c.api();
        const git = gitInfo(process.cwd());
        const grid = o.grid ? parseGrid(o.grid) : undefined;
        const trials = grid
          ? Object.values(grid).reduce((n, values) => n * values.length, 1)
          : numberOption(o.random ?? '0', '--random')!;
        const progress = progressLine(c);
        let finished = 0;
        // On a workspace the trials are jobs (any `sextant worker` takes them too); against a server,
        // this process runs them. Ctrl-C cancels the trials not yet ended.
        const ws = await c.workspace();
        const runner = ws
          ? (await import('../app/index.js')).jobTrialRunner(ws.jobs, { actor: localPrincipal.name })
          : inProcessTrialRunner(api);
        const interrupt = new AbortController();
        const onInterrupt = () => interrupt.abort(new Error('interrupted'));
        process.once('SIGINT', onInterrupt);
        const result = await runSweep(
          api,
          {
            base: {
              datasetRef: o.dataset,
              target: o.target,
              kind: o.model as TrainerKind,
              ...(o.task ? { task: o.task as Task } : {}),
              params: parsePairs(o.param, '--param'),
              seed: numberOption(o.seed, '--seed')!,
              valFraction: numberOption(o.valFraction, '--val-fraction')!,
              ...(features ? { features } : {}),
            },
            ...(grid ? { grid } : {}),
            ...(o.random !== undefined
              ? {
                  random: {
                    trials: numberOption(o.random, '--random')!,
                    ranges: parseRanges(o.paramRange ?? []),
                  },
                }
              : {}),
            parallel: numberOption(o.parallel, '--parallel')!,
            earlyStop: o.earlyStop,
            warmup: numberOption(o.warmup, '--warmup')!,
          },
          {
            ...(o.experiment ? { experiment: o.experiment } : {}),
            ...(o.name ? { runName: o.name } : {}),
            ...(git ? { gitCommit: git.commit, gitDirty: git.dirty } : {}),
            command: commandLine('sweep', o),
            workDir: os.tmpdir(),
            trials: runner,
            signal: interrupt.signal,
            // Trials as a progress line on a terminal; a failed trial is said in any case.
            onTrial: (t) => {
              finished++;
              progress.count(
                'sweeping',
                finished,
                Math.max(trials, finished),
                'trials',
                `trial ${t.trial} ${t.status}${t.earlyStopped ? ' (early stopped)' : ''}${t.objective !== undefined ? ` objective ${formatNumber(t.objective)}` : ''}`,
              );
              if (t.error && !c.json) c.output.err(`sextant: trial ${t.trial} failed: ${t.error}`);
            },
          },
        ).finally(() => {
          process.off('SIGINT', onInterrupt);
          progress.end();
        });
        if (c.json)
          return c.output.out(
            JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
          );
        const keys = [...new Set(result.trials.flatMap((t) => Object.keys(t.params)))];
        c.output.out(
          [
            details([
              ['parent run', result.parentRunId],
              [
                'objective',
                `${result.objective.metric} (${result.objective.higherIsBetter ? 'higher' : 'lower'} is better)`,
              ],
              ['best run', result.best ? `${result.best.runId} (trial ${result.best.trial})` : '-'],
            ]),
            table(
              [
                'TRIAL',
                'RUN',
                'STATUS',
                ...keys.map((k) => k.toUpperCase()),
                'ITERATIONS',
                'STOPPED',
                result.objective.metric.toUpperCase(),
              ],
              result.trials.map((t) => [
                t.trial,
                t.runId ?? '',
                t.status,
                ...keys.map((k) => t.params[k] ?? ''),
                t.iterations ?? '',
                t.earlyStopped ? 'early' : '',
                t.objective !== undefined ? formatNumber(t.objective) : (t.error ?? ''),
              ]),
            ),
          ].join('\n\n'),
        );
      },
    );
}
