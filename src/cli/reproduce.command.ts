import os from 'node:os';
import { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type { ReproduceOutcome } from '../ml/index.js';
import type { Run } from '../tracking/tracking.schema.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { gitInfo } from './git-info.js';
import type { Output } from './output.js';
import { details, formatNumber, table } from './output.js';

type Ctx = () => CliContext;

/**
 * Re-runs a user's command the way `sextant run --` ran it (same experiment, a tag pointing back at
 * the original), through the run command itself so metering and logs are the same. The stored command
 * line is shell-quoted, so it runs under `sh -c`, in the current folder.
 */
async function rerunThroughRunCommand(ctx: Ctx, run: Run): Promise<string> {
  const { registerRunCommand } = await import('./run.command.js');
  let summary = '';
  const capture: Output = { out: (t) => (summary += t), err: (t) => ctx().output.err(t) };
  const sub = new Command('sextant').exitOverride().enablePositionalOptions();
  // The run command passes the child's exit code on as its own; reproduce reports it instead.
  registerRunCommand(sub, () => ({ ...ctx(), output: capture, json: true, setExitCode: () => {} }));

  await sub.parseAsync(
    [
      'run',
      '-e',
      run.experimentId,
      '-n',
      `${run.name}-reproduced`,
      '-t',
      `sextant.reproduces=${run.id}`,
      '--',
      'sh',
      '-c',
      run.command!,
    ],
    { from: 'user' },
  );
  return (JSON.parse(summary) as { runId: string }).runId;
}

function print(c: CliContext, r: ReproduceOutcome): void {
  const verdict =
    r.kind === 'trainer'
      ? r.byteIdentical
        ? 'byte-identical (sha256 equal)'
        : 'NOT byte-identical: see the metric deltas'
      : r.reproduced
        ? `metrics within tolerance ${r.tolerance}`
        : `metrics differ beyond tolerance ${r.tolerance}`;
  c.output.out(
    [
      details([
        ['original run', r.originalRunId],
        ['new run', r.newRunId],
        ['dataset', r.dataset ? `${r.dataset.ref} (${r.dataset.digest.slice(0, 12)})` : null],
        ['original sha256', r.originalSha256],
        ['new sha256', r.newSha256],
        [
          'code',
          r.code.matches === null
            ? `${r.code.original ?? 'unknown'} (recorded) / ${r.code.current ?? 'unknown'} (now)`
            : r.code.matches
              ? `${r.code.original} (same commit)`
              : `${r.code.original} recorded, ${r.code.current} checked out now`,
        ],
        ['result', verdict],
      ]),
      table(
        ['METRIC', 'ORIGINAL', 'REPRODUCED', 'DELTA', 'OK'],
        r.metrics.map((m) => [
          m.key,
          formatNumber(m.original),
          m.reproduced === null ? '-' : formatNumber(m.reproduced),
          m.delta === null ? '-' : formatNumber(m.delta),
          m.withinTolerance ? 'yes' : 'NO',
        ]),
      ),
    ].join('\n\n'),
  );
}

/**
 * Re-runs what made `<model>@<ref>` (or a run) and compares: the trainer's runs for byte identity,
 * anyone else's command for metrics. The new run is tagged `sextant.reproduces=<original run>`.
 */
export async function reproduceNow(
  ctx: Ctx,
  input: { modelRef?: string; runId?: string; tolerance?: number },
): Promise<ReproduceOutcome> {
  const c = ctx();
  const { modelRef, tolerance } = input;
  // Loaded here, not with the models group: `models ls` need not load the trainers.
  const [{ reproduceRun }, { registryPort }] = await Promise.all([
    import('../ml/index.js'),
    import('./ml.command.js'),
  ]);
  const api = await c.api();
  let runId = input.runId;
  let expectedSha256: string | undefined;
  if (modelRef) {
    const version = await registryPort(api).resolve(modelRef);
    if (!version.runId)
      throw new ValidationError(`${modelRef} was registered without a run; there is no record to re-run`, {
        field: 'model',
      });
    runId = version.runId;
    expectedSha256 = version.sha256;
  }
  const git = gitInfo(process.cwd());
  return reproduceRun(api, {
    runId: runId!,
    ...(expectedSha256 ? { expectedSha256 } : {}),
    ...(tolerance !== undefined ? { tolerance } : {}),
    ...(git ? { gitCommit: git.commit, gitDirty: git.dirty } : {}),
    workDir: os.tmpdir(),
    rerunCommand: (run) => rerunThroughRunCommand(ctx, run),
  });
}

/** Adds `sextant models reproduce`: re-train a registered model (or a run) and compare. */
export function registerReproduceCommand(models: Command, ctx: Ctx): void {
  models
    .command('reproduce [model]')
    .description(
      're-run what made <model>@<version> (or --run): retrain and check byte-identity, or re-run the command and compare metrics',
    )
    .option('--run <run-id>', 'reproduce this run instead of a registered version')
    .option(
      '--tolerance <t>',
      'absolute tolerance for metric comparison (default 1e-9 trainer, 1e-3 command)',
    )
    .action(async (modelRef: string | undefined, o: { run?: string; tolerance?: string }) => {
      const c = ctx();
      if (!modelRef === !o.run)
        throw new ValidationError('give either <model>@<version> or --run <run-id>', { field: 'model' });
      const tolerance = o.tolerance === undefined ? undefined : Number(o.tolerance);
      if (tolerance !== undefined && !(Number.isFinite(tolerance) && tolerance >= 0))
        throw new ValidationError(`--tolerance: expected a non-negative number, got '${o.tolerance}'`, {
          field: 'tolerance',
        });
      const result = await reproduceNow(ctx, {
        ...(modelRef ? { modelRef } : {}),
        ...(o.run ? { runId: o.run } : {}),
        ...(tolerance !== undefined ? { tolerance } : {}),
      });
      if (c.json)
        c.output.out(
          JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
        );
      else print(c, result);
      // Not reproduced is an answer, not a crash: its own exit code so scripts can tell.
      if (!result.reproduced)
        throw new CliOutcome('CHECK_FAILED', `${modelRef ?? `run ${o.run}`} did not reproduce`);
    });
}
