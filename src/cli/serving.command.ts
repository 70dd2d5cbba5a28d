import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { PredictionExplanation } from '../client/serving-api.js';
import { AppError, type ErrorCode, ValidationError } from '../core/errors.js';
import { formatTrace } from '../governance/trace/index.js';
import {
  type CreateDeploymentInput,
  type Deployment,
  type DeploymentResilience,
  type FeedbackItem,
  type FeedbackOutcome,
  feedbackItemSchema,
  type LedgerMode,
  ledgerModeSchema,
  type Prediction,
  type PredictionOutput,
  predictionIdSchema,
  type UpdateDeploymentInput,
} from '../serving/index.js';
import type { CliContext } from './context.js';
import { LIST_MAX, positiveInt } from './options.js';
import { details, formatNumber, painter, table } from './output.js';
import { registerPredictionExportCommand } from './prediction-export.command.js';

type Ctx = () => CliContext;

/** Feedback is sent in batches of this many items (one request each). */
const FEEDBACK_BATCH = 500;
const BAR_WIDTH = 24;

/** A prediction id as typed, checked before either transport is asked, so both answer alike. */
function predictionIdArg(id: string): string {
  const parsed = predictionIdSchema.safeParse(id);
  if (!parsed.success)
    throw new ValidationError(
      `'${id}' is not a prediction id (pred_ and 26 lowercase letters or digits): copy one from \`sextant predictions ls\``,
      { field: 'prediction-id' },
    );
  return parsed.data;
}

function ledgerMode(value: string | undefined): LedgerMode | undefined {
  if (value === undefined) return undefined;
  const parsed = ledgerModeSchema.safeParse(value);
  if (!parsed.success)
    throw new ValidationError(`--ledger: expected durable or async, got '${value}'`, { field: '--ledger' });
  return parsed.data;
}

function percent(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
    throw new ValidationError(`--percent: expected a number from 0 to 100, got '${value}'`, {
      field: '--percent',
    });
  return n;
}

function seedOf(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new ValidationError(`--seed: '${value}' is not a whole number >= 0`, { field: '--seed' });
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 2h` (ago) or an ISO time as given; the API checks the ISO form and names the field. */
function timeOption(value: string | undefined, now: number, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,9})([smhd])$/.exec(value.trim());
  if (!m) return value;
  const at = new Date(now - Number(m[1]) * (UNIT_MS[m[2]!] ?? 0));
  // Ages reach back at most to year 0 of the ISO calendar; beyond, say so instead of a RangeError.
  if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1)
    throw new ValidationError(`${flag}: '${value}' reaches too far back`, { field: flag });
  return at.toISOString();
}

interface ChallengerOpts {
  shadow?: string;
  canary?: string;
  percent?: string;
  /** commander's --no-challenger: false when given. */
  challenger?: boolean;
}

/** --shadow <ref> | --canary <ref> --percent n | --no-challenger (update only) -> the API's challenger. */
function challengerOf(o: ChallengerOpts): CreateDeploymentInput['challenger'] | null | undefined {
  const given = [o.shadow !== undefined, o.canary !== undefined, o.challenger === false].filter(Boolean);
  if (given.length > 1)
    throw new ValidationError('--shadow, --canary and --no-challenger exclude each other', {
      field: '--shadow',
    });
  if (o.percent !== undefined && o.canary === undefined)
    throw new ValidationError('--percent: only with --canary', { field: '--percent' });
  if (o.challenger === false) return null;
  if (o.shadow !== undefined) return { ref: o.shadow, mode: 'shadow' };
  if (o.canary !== undefined) {
    const p = percent(o.percent);
    if (p === undefined)
      throw new ValidationError('--percent: a canary needs the share of traffic it answers (0-100)', {
        field: '--percent',
      });
    return { ref: o.canary, mode: 'canary', percent: p };
  }
  return undefined;
}

/** The gateway's settings a deployment may override (external models): flags of create and update. */
interface ResilienceOpts {
  upstreamTimeoutMs?: string;
  upstreamRetries?: string;
  breakerFailures?: string;
  breakerResetMs?: string;
}

function wholeNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new ValidationError(`${flag}: '${value}' is not a whole number`, { field: flag });
  return n;
}

function resilienceOf(o: ResilienceOpts): DeploymentResilience | undefined {
  const r: DeploymentResilience = {};
  if (o.upstreamTimeoutMs !== undefined)
    r.timeoutMs = wholeNumber(o.upstreamTimeoutMs, '--upstream-timeout-ms');
  if (o.upstreamRetries !== undefined) r.retries = wholeNumber(o.upstreamRetries, '--upstream-retries');
  if (o.breakerFailures !== undefined)
    r.breakerFailures = wholeNumber(o.breakerFailures, '--breaker-failures');
  if (o.breakerResetMs !== undefined) r.breakerResetMs = wholeNumber(o.breakerResetMs, '--breaker-reset-ms');
  return Object.keys(r).length > 0 ? r : undefined;
}

function withResilienceOptions(c: Command): Command {
  return c
    .option(
      '--upstream-timeout-ms <ms>',
      "external model: one upstream call's deadline (overrides the version's)",
    )
    .option('--upstream-retries <n>', 'external model: retries after a refused connection or a 502/503/504')
    .option('--breaker-failures <n>', 'external model: consecutive failures that open the circuit breaker')
    .option('--breaker-reset-ms <ms>', 'external model: how long the circuit stays open before a probe');
}

const resilienceText = (d: Deployment) =>
  d.resilience
    ? Object.entries(d.resilience)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : null;

const challengerText = (d: Deployment) =>
  d.challenger
    ? `${d.model}@${d.challenger.ref} (${d.challenger.mode}${d.challenger.mode === 'canary' ? ` ${d.challenger.percent ?? 0}%` : ''})`
    : '-';

function deploymentDetails(d: Deployment): string {
  return details([
    ['name', d.name],
    ['id', d.id],
    ['model', `${d.model}@${d.ref}`],
    ['challenger', challengerText(d)],
    ['ledger', d.ledgerMode],
    ['upstream', resilienceText(d)],
    ['created', `${d.createdAt} by ${d.createdBy}`],
    ['updated', d.updatedAt],
  ]);
}

const outputText = (o: PredictionOutput | null, error?: Prediction['error']): string => {
  if (o === null) return error ? `failed: ${error.code}` : '-';
  const p = o.prediction === null ? '-' : String(o.prediction);
  if (!o.probabilities) return p;
  const probs = Object.entries(o.probabilities)
    .map(([k, v]) => `${k}:${formatNumber(v)}`)
    .join(' ');
  return `${p} (${probs})`;
};

function predictionDetails(p: Prediction): string {
  return details([
    ['id', p.id],
    ['served', p.servedAt],
    ['deployment', p.deploymentId],
    ['model version', `${p.model}@${p.version}${p.alias ? ` (${p.alias})` : ''} ${p.modelVersionId}`],
    ['role', p.role],
    ['request key', p.requestKey],
    ['inputs', JSON.stringify(p.inputs)],
    ['status', p.status],
    ['error', p.error ? `${p.error.code}: ${p.error.message}` : null],
    ['output', outputText(p.outputs, p.error)],
    ['latency ms', formatNumber(p.latencyMs)],
    [
      'shadow',
      p.shadow
        ? `${p.shadow.modelVersionId}: ${p.shadow.error ? `error: ${p.shadow.error}` : p.shadow.outputs ? outputText(p.shadow.outputs) : '-'}`
        : null,
    ],
    ['label', p.label ? `${String(p.label.value)} (received ${p.label.receivedAt})` : null],
  ]);
}

function statusOption(text: string): 'ok' | 'failed' {
  if (text === 'ok' || text === 'failed') return text;
  throw new ValidationError(`--status: expected ok or failed, got '${text}'`, { field: 'status' });
}

/** A label as typed: a number or true/false when it reads as one, else the text itself. */
function parseLabel(text: string): FeedbackItem['label'] {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return text;
}

/** A JSONL file of {"prediction_id", "label"} lines; any malformed line refuses the file (nothing is sent). */
async function readFeedbackFile(file: string): Promise<FeedbackItem[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`--file: cannot read ${file}: ${(err as Error).message}`, { field: '--file' });
  }
  const items: FeedbackItem[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ValidationError(`${where}: not a JSON object`, { field: '--file', line: i + 1 });
    }
    const parsed = feedbackItemSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      throw new ValidationError(`${where}: ${at}${issue?.message ?? 'invalid'}`, {
        field: '--file',
        line: i + 1,
      });
    }
    items.push(parsed.data);
  }
  if (items.length === 0)
    throw new ValidationError(`--file: ${file} holds no feedback lines`, { field: '--file' });
  return items;
}

function explanationText(e: PredictionExplanation): string {
  const x = e.explanation;
  const values = x.features ?? e.prediction.inputs;
  const rows = Object.entries(x.attributions).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const max = Math.max(...rows.map(([, v]) => Math.abs(v)), Number.MIN_VALUE);
  const bar = (v: number) => {
    const n = Math.round((Math.abs(v) / max) * BAR_WIDTH);
    return (v < 0 ? '-' : '+').repeat(n);
  };
  const sum = rows.reduce((n, [, v]) => n + v, 0);
  return [
    details([
      ['prediction', `${e.prediction.id} by ${e.prediction.model}@${e.prediction.version}`],
      ...(x.class !== undefined ? [['class', `${x.class} (the predicted class)`] as [string, string]] : []),
      ['output', `${formatNumber(x.output)} (${x.space})`],
      ['base value', formatNumber(x.baseValue)],
      ['sum', `base value + attributions = ${formatNumber(x.baseValue + sum)}`],
      ['method', `${x.method}${x.exact ? ' (exact)' : ''}`],
      ['tolerance', formatNumber(x.tolerance)],
      ['background', `${x.backgroundSize} rows`],
      ['samples', x.samples],
    ]),
    '',
    table(
      ['FEATURE', 'VALUE', 'ATTRIBUTION', ''],
      rows.map(([k, v]) => [k, JSON.stringify(values[k] ?? null), formatNumber(v), bar(v)]),
    ),
    ...(x.perClass
      ? [
          '',
          perClassTable(
            x.perClass,
            rows.map(([k]) => k),
          ),
        ]
      : []),
  ].join('\n');
}

/** Every class's attributions side by side (explain --all-classes), features in the top-level order. */
function perClassTable(
  perClass: NonNullable<PredictionExplanation['explanation']['perClass']>,
  features: string[],
): string {
  const classes = Object.keys(perClass);
  return table(
    ['FEATURE', ...classes.map((c) => c.toUpperCase())],
    [
      ...features.map((f) => [f, ...classes.map((c) => formatNumber(perClass[c]!.attributions[f] ?? 0))]),
      ['(base value)', ...classes.map((c) => formatNumber(perClass[c]!.baseValue))],
      ['(margin)', ...classes.map((c) => formatNumber(perClass[c]!.output))],
    ],
  );
}

/**
 * `sextant deployments`, `predictions`, `feedback`, `trace` and `explain`: the serving surface. Each
 * works on the local workspace or, with --url, against a server.
 */
export function registerServingCommands(program: Command, ctx: Ctx): void {
  const print = (value: unknown, text: () => string) => {
    const c = ctx();
    c.output.out(c.json ? JSON.stringify(value, null, 2) : text());
  };
  const api = async () => (await ctx().api()).serving;

  const dep = program.command('deployments');
  withResilienceOptions(
    dep
      .command('create <name>')
      .description(
        'deploy a model ref; a challenger gets a copy of each request (shadow) or a share (canary)',
      ),
  )
    .requiredOption('--model <ref>', 'what it serves and follows: <model>@<alias|n>, e.g. credit@champion')
    .option('--shadow <ref>', 'challenger in shadow mode: an alias or version number of the same model')
    .option('--canary <ref>', 'challenger in canary mode: an alias or version number of the same model')
    .option('--percent <n>', 'canary: the share of request keys it answers (0-100)')
    .option('--ledger <mode>', 'durable (reply after the prediction is on disk) | async', 'durable')
    .action(async (name: string, o: ChallengerOpts & ResilienceOpts & { model: string; ledger: string }) => {
      const challenger = challengerOf(o);
      const resilience = resilienceOf(o);
      const d = await (await api()).deployments.create({
        name,
        model: o.model,
        ...(challenger ? { challenger } : {}),
        ...(o.ledger ? { ledgerMode: ledgerMode(o.ledger) } : {}),
        ...(resilience ? { resilience } : {}),
      });
      print(d, () => `created deployment ${d.name}\n${deploymentDetails(d)}`);
    });
  dep
    .command('ls', { isDefault: true })
    .description('list deployments')
    .action(async () => {
      const ds = await (await api()).deployments.list();
      const paint = painter(ctx().output);
      print(ds, () =>
        table(
          ['NAME', 'MODEL', 'CHALLENGER', 'LEDGER', 'STATE', 'WHERE', 'SINCE'],
          ds.map((d) => {
            const rt = d.runtime;
            return [
              d.name,
              `${d.model}@${d.ref}`,
              challengerText(d),
              d.ledgerMode,
              paint(rt ? (rt.running ? 'running' : 'stopped') : 'never served'),
              rt ? `${rt.address} (${rt.host}, pid ${rt.pid})` : '-',
              rt ? (rt.running ? rt.since : `${rt.stoppedAt ?? rt.lastBeatAt} (last seen)`) : '-',
            ];
          }),
        ),
      );
    });
  dep
    .command('show <name>')
    .description('one deployment')
    .action(async (name: string) => {
      const d = await (await api()).deployments.get(name);
      print(d, () => deploymentDetails(d));
    });
  withResilienceOptions(
    dep
      .command('update <name>')
      .description(
        "change what a deployment follows, its challenger, its ledger mode or its external model's upstream settings",
      ),
  )
    .option('--reset-upstream', "drop the upstream override (back to the model version's settings)")
    .option('--model <ref>', 'follow this ref from now on: <model>@<alias|n>')
    .option('--shadow <ref>', 'challenger in shadow mode')
    .option('--canary <ref>', 'challenger in canary mode')
    .option('--percent <n>', 'canary: the share of request keys it answers (0-100)')
    .option('--no-challenger', 'remove the challenger')
    .option('--ledger <mode>', 'durable | async')
    .action(
      async (
        name: string,
        o: ChallengerOpts & ResilienceOpts & { model?: string; ledger?: string; resetUpstream?: boolean },
      ) => {
        const challenger = challengerOf(o);
        const resilience = o.resetUpstream ? null : resilienceOf(o);
        const patch: UpdateDeploymentInput = {
          ...(o.model !== undefined ? { model: o.model } : {}),
          ...(challenger !== undefined ? { challenger } : {}),
          ...(o.ledger !== undefined ? { ledgerMode: ledgerMode(o.ledger) } : {}),
          ...(resilience !== undefined ? { resilience } : {}),
        };
        if (Object.keys(patch).length === 0)
          throw new ValidationError(
            'nothing to change: give --model, --shadow, --canary, --no-challenger, --ledger, an upstream setting or --reset-upstream',
            { field: 'options' },
          );
        const d = await (await api()).deployments.update(name, patch);
        print(d, () => `updated deployment ${d.name}\n${deploymentDetails(d)}`);
      },
    );
  dep
    .command('rm <name>')
    .description('delete a deployment (its logged predictions stay)')
    .action(async (name: string) => {
      await (await api()).deployments.remove(name);
      print({ ok: true }, () => `removed deployment ${name}`);
    });

  const preds = program.command('predictions');
  preds
    .command('ls', { isDefault: true })
    .description('logged predictions, newest first')
    .option('--deployment <name>', 'only this deployment')
    .option('--model-version <ref>', 'only this model version: <model>@<n>')
    .option(
      '--since <time>',
      'served at or after: an ISO time (2026-03-01T12:00:00Z) or an age like 30m, 2h, 7d',
    )
    .option('--until <time>', 'served before: an ISO time or an age like 1h')
    .option('--limit <n>', 'at most this many', '50')
    .option('--status <status>', 'only ok or only failed predictions (a failed one: its model server failed)')
    .option('--cursor <cursor>', 'continue a listing (the cursor a previous page printed)')
    .action(
      async (o: {
        status?: string;
        deployment?: string;
        modelVersion?: string;
        since?: string;
        until?: string;
        limit: string;
        cursor?: string;
      }) => {
        const now = Date.now();
        const page = await (await api()).predictions.list({
          limit: positiveInt(o.limit, '--limit', LIST_MAX),
          ...(o.deployment !== undefined ? { deployment: o.deployment } : {}),
          ...(o.modelVersion !== undefined ? { modelVersion: o.modelVersion } : {}),
          ...(o.since !== undefined ? { since: timeOption(o.since, now, '--since') } : {}),
          ...(o.until !== undefined ? { until: timeOption(o.until, now, '--until') } : {}),
          ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
          ...(o.status !== undefined ? { status: statusOption(o.status) } : {}),
        });
        print(page, () =>
          [
            table(
              ['ID', 'SERVED', 'MODEL', 'ROLE', 'STATUS', 'OUTPUT', 'LABEL', 'MS'],
              page.predictions.map((p) => [
                p.id,
                p.servedAt,
                `${p.model}@${p.version}`,
                p.role,
                p.status,
                outputText(p.outputs, p.error),
                p.label ? String(p.label.value) : '',
                formatNumber(p.latencyMs),
              ]),
            ),
            ...(page.nextCursor ? [`more: --cursor ${page.nextCursor}`] : []),
          ].join('\n'),
        );
      },
    );
  preds
    .command('prune')
    .description(
      'drop the sealed segments of the prediction log whose every prediction was served before a time (audited)',
    )
    .requiredOption('--before <time>', 'an ISO time (2026-03-01T00:00:00Z) or an age like 90d')
    .action(async (o: { before: string }) => {
      const before = timeOption(o.before, Date.now(), '--before') as string;
      const r = await (await api()).predictions.prune({ before });
      print(r, () =>
        r.segments === 0
          ? `nothing to prune: no sealed segment of the log was served wholly before ${r.before}`
          : `pruned ${r.segments} segment(s), ${r.rows} prediction(s) served ${r.firstServedAt} to ${r.lastServedAt}` +
            ` (deployments: ${r.deployments.join(', ')}); the audit log records it`,
      );
    });
  registerPredictionExportCommand(preds, ctx);
  preds
    .command('show <id>')
    .description('one logged prediction')
    .action(async (id: string) => {
      const p = await (await api()).predictions.get(id);
      print(p, () => predictionDetails(p));
    });

  program
    .command('feedback [prediction-id] [label]')
    .option('--file <labels.jsonl>', 'many labels, one JSON object per line')
    .action(async (id: string | undefined, label: string | undefined, o: { file?: string }) => {
      let items: FeedbackItem[];
      if (o.file !== undefined) {
        if (id !== undefined)
          throw new ValidationError('give either <prediction-id> <label> or --file, not both', {
            field: '--file',
          });
        items = await readFeedbackFile(o.file);
      } else {
        if (id === undefined || label === undefined)
          throw new ValidationError('expected <prediction-id> <label>, or --file labels.jsonl', {
            field: id === undefined ? 'prediction-id' : 'label',
          });
        items = [{ prediction_id: id, label: parseLabel(label) }];
      }
      const s = await api();
      const outcomes: FeedbackOutcome[] = [];
      for (let i = 0; i < items.length; i += FEEDBACK_BATCH)
        outcomes.push(...(await s.feedback(items.slice(i, i + FEEDBACK_BATCH))));
      const count = (status: FeedbackOutcome['status']) => outcomes.filter((x) => x.status === status).length;
      const counts = { recorded: count('recorded'), duplicate: count('duplicate'), failed: count('failed') };
      print({ ...counts, outcomes }, () =>
        [
          `recorded ${counts.recorded}, duplicate ${counts.duplicate}, failed ${counts.failed}`,
          ...outcomes.flatMap((x) =>
            x.status === 'failed' ? [`failed ${x.predictionId}: ${x.error.code}: ${x.error.message}`] : [],
          ),
        ].join('\n'),
      );
      // A label that could not be recorded ends with its error's exit code (3 for an unknown prediction).
      const failed = outcomes.find((x) => x.status === 'failed');
      if (failed?.status === 'failed')
        throw new AppError(
          failed.error.code as ErrorCode,
          counts.failed === 1
            ? `${failed.predictionId}: ${failed.error.message}`
            : `${counts.failed} of ${outcomes.length} labels were not recorded; first: ${failed.predictionId}: ${failed.error.message}`,
        );
    });

  program.command('trace <prediction-id>').action(async (id: string) => {
    const t = await (await api()).trace(predictionIdArg(id));
    print(t, () => formatTrace(t));
  });

  program
    .command('explain <prediction-id>')
    .option('--kernel', 'always KernelSHAP (sampling), even for a model Sextant trained')
    .option('--samples <n>', 'KernelSHAP coalition budget')
    .option(
      '--background <n|dataset@v>',
      'background rows sampled from the training data (default 100), or the dataset version to sample them from (models registered from a file)',
    )
    .option('--background-size <n>', 'rows of the background sample (default 100)')
    .option('--seed <n>', 'seed of the background sample and the coalitions')
    .option('--all-classes', "multiclass models: every class's attributions, not only the predicted class's")
    .action(
      async (
        id: string,
        o: {
          kernel?: boolean;
          samples?: string;
          background?: string;
          backgroundSize?: string;
          seed?: string;
          allClasses?: boolean;
        },
      ) => {
        const fromDataset = o.background?.includes('@') === true;
        const size = o.backgroundSize ?? (fromDataset ? undefined : o.background);
        const e = await (await api()).explain(predictionIdArg(id), {
          ...(o.allClasses ? { classes: 'all' as const } : {}),
          ...(o.kernel ? { method: 'kernel' as const } : {}),
          ...(o.samples !== undefined ? { samples: positiveInt(o.samples, '--samples') } : {}),
          ...(fromDataset ? { backgroundDataset: o.background } : {}),
          ...(size !== undefined
            ? {
                backgroundSize: positiveInt(
                  size,
                  o.backgroundSize !== undefined ? '--background-size' : '--background',
                ),
              }
            : {}),
          ...(o.seed !== undefined ? { seed: seedOf(o.seed) } : {}),
        });
        print(e, () => explanationText(e));
      },
    );
}
