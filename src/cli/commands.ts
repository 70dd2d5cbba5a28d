import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Adds one module's commands to the program. */
type Register = (program: Command, ctx: () => CliContext) => unknown;

/**
 * The top-level commands: the one-line summary `sextant --help` lists, and the module that defines
 * each. A module is imported only when one of its commands runs, so `sextant --help` and a light
 * command never pay for what another command needs (DuckDB, onnxruntime, Fastify, the S3 SDK).
 */
export interface CommandModule {
  summaries: Record<string, string>;
  load(): Promise<Register>;
}

export const commandModules: CommandModule[] = [
  {
    summaries: { server: 'start the API server (native /api/v1 and MLflow-compatible /api/2.0/mlflow)' },
    load: async () => (await import('./server.command.js')).registerServerCommand,
  },
  {
    summaries: { experiments: 'list and manage experiments' },
    load: async () => (await import('./experiments.command.js')).registerExperimentsCommand,
  },
  {
    summaries: { runs: 'list, show and compare runs' },
    load: async () => (await import('./runs.command.js')).registerRunsCommand,
  },
  {
    summaries: {
      run: 'run a command as a tracked run (captures git commit, exit code, times, memory, output)',
    },
    load: async () => (await import('./run.command.js')).registerRunCommand,
  },
  {
    summaries: {
      audit: 'the tamper-evident audit log',
      users: 'users and roles',
      tokens: 'API tokens (stored hashed; the secret is shown once)',
    },
    load: async () => (await import('./admin.command.js')).registerAdminCommands,
  },
  {
    summaries: { data: 'datasets and their versions: add, status, diff, validate, compare, profile' },
    load: async () => {
      const [data, quality] = await Promise.all([
        import('./data.command.js'),
        import('./data-quality.command.js'),
      ]);
      return (program, ctx) =>
        quality.registerDataQualityCommands(data.registerDataCommands(program, ctx), ctx);
    },
  },
  {
    summaries: {
      lineage: 'where a dataset version, run or model version came from and what came of it',
      gc: 'find blobs no dataset version, run artifact or model version references; --delete removes them',
    },
    load: async () => (await import('./lineage.command.js')).registerLineageCommands,
  },
  {
    summaries: {
      train:
        'train a linear or gradient-boosted model on a dataset version, as a tracked run with an ONNX model',
      evaluate: 'score a stored ONNX model (<model>@<version>, or --run) on a dataset version',
      sweep: 'a grid or random search of trainer params as child runs of one parent run',
    },
    load: async () => (await import('./ml.command.js')).registerMlCommands,
  },
  {
    summaries: { models: 'registered models, versions, aliases and promotions' },
    load: async () => {
      const [models, reproduce] = await Promise.all([
        import('./models.command.js'),
        import('./reproduce.command.js'),
      ]);
      return (program, ctx) =>
        reproduce.registerReproduceCommand(models.registerModelsCommands(program, ctx), ctx);
    },
  },
  {
    summaries: {
      predict:
        'score a dataset version with a registered model (serving code, batched); the predictions become a dataset version, the run records both',
    },
    load: async () => (await import('./predict.command.js')).registerPredictCommand,
  },
  {
    summaries: { budgets: 'caps on spend per experiment, tag or team: soft alert, hard stop, forecast' },
    load: async () => (await import('./budgets.command.js')).registerBudgetsCommands,
  },
  {
    summaries: { reaper: 'the idle reaper: what it unloaded and stopped, and the instance-hours saved' },
    load: async () => (await import('./reaper.command.js')).registerReaperCommands,
  },
  {
    summaries: {
      cost: 'what compute and storage cost: meters, the price book, reports (--by, --compare, --html)',
    },
    load: async () => (await import('./cost.command.js')).registerCostCommands,
  },
  {
    summaries: {
      monitors: 'monitors of deployments: drift, skew, live quality, performance from delayed labels',
      monitor: "run a deployment's monitors now: monitor run <deployment> [--from --to]",
    },
    load: async () => (await import('./monitors.command.js')).registerMonitorsCommands,
  },
  {
    // `monitor` is shared with the monitors module: both add their subcommands (run, report) to it.
    summaries: {
      alerts: 'monitoring alerts: ls, show, ack',
      monitor:
        "a deployment's monitoring: monitor run <deployment> [--from --to], monitor report <deployment> --html <file>",
    },
    load: async () => (await import('./alerts.command.js')).registerAlertsCommands,
  },
  {
    summaries: { webhooks: 'signed HTTP callbacks for events (admin)' },
    load: async () => (await import('./webhooks.command.js')).registerWebhooksCommands,
  },
  {
    summaries: {
      serve:
        'serve a registered model over HTTP, logging every prediction: POST /predict (also /invocations), POST /feedback, GET /metrics /healthz /readyz',
    },
    load: async () => (await import('./serve.command.js')).registerServeCommand,
  },
  {
    summaries: {
      deployments: 'deployments: a model ref served, with an optional challenger',
      predictions: 'the prediction log',
      feedback:
        'record true outcomes (delayed labels): one, or a JSONL file of {"prediction_id","label"} lines',
      trace: 'the chain behind a prediction: model version, alias then, approvals, run, data, upstream',
      explain: 'feature attributions of a logged prediction (exact linear, TreeSHAP or KernelSHAP)',
    },
    load: async () => (await import('./serving.command.js')).registerServingCommands,
  },
  {
    summaries: {
      worker: 'run background jobs (BullMQ when SEXTANT_REDIS_URL is set, else from the database)',
    },
    load: async () => (await import('./worker.command.js')).registerWorkerCommand,
  },
  {
    summaries: {
      backup: 'one archive of the database snapshot and the blobs, with a manifest of digests',
      restore: 'restore a backup into an empty workspace; verifies digests and the audit chain',
    },
    load: async () => (await import('./backup.command.js')).registerBackupCommands,
  },
  {
    summaries: { store: 'move this workspace: store migrate --to postgres://... [--blobs s3://...]' },
    load: async () => (await import('./store.command.js')).registerStoreCommands,
  },
  {
    summaries: { jobs: 'background jobs: what is queued, running, done, failed' },
    load: async () => (await import('./jobs.command.js')).registerJobsCommands,
  },
  {
    summaries: { workers: 'workers seen by the job queue: queues, last heartbeat, current job' },
    load: async () => (await import('./jobs.command.js')).registerWorkersCommands,
  },
  {
    summaries: { pipelines: 'YAML pipelines: create, run (with a step cache), ls, show, logs -f, cancel' },
    load: async () => (await import('./pipelines.command.js')).registerPipelinesCommands,
  },
  {
    summaries: {
      ci: 'for CI: score a candidate model with the champion on a holdout, dry-run the policy gates, write a Markdown report',
    },
    load: async () => (await import('./ci.command.js')).registerCiCommand,
  },
  {
    summaries: { triggers: 'start pipelines on a schedule, a new dataset version, an event or a call' },
    load: async () => (await import('./triggers.command.js')).registerTriggersCommands,
  },
  {
    summaries: {
      report:
        'documents for auditors: report compliance <model>@<v|alias> --html|--pdf <file> [--from --to] [--reproduce]',
    },
    load: async () => (await import('./report.command.js')).registerReportCommands,
  },
];

/**
 * The top-level command a command line names: its first word that is not an option (or the word
 * after `help`); undefined when there is none.
 */
export function commandNamedIn(argv: string[]): string | undefined {
  const withValue = new Set(['--url', '--token']);
  let afterHelp = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (withValue.has(a)) i++;
    else if (!a.startsWith('-')) {
      if (a !== 'help' || afterHelp) return a;
      afterHelp = true;
    }
  }
  return undefined;
}
