import { Command, CommanderError } from 'commander';
import { exitCodeFor, isAppError } from '../core/errors.js';
import { registerAdminCommands } from './admin.command.js';
import { type CliContext, createCliContext } from './context.js';
import { registerDataCommands } from './data.command.js';
import { registerDataQualityCommands } from './data-quality.command.js';
import { registerExperimentsCommand } from './experiments.command.js';
import { registerJobsCommands } from './jobs.command.js';
import { registerLineageCommands } from './lineage.command.js';
import { registerMlCommands } from './ml.command.js';
import { registerModelsCommands } from './models.command.js';
import type { Output } from './output.js';
import { registerReproduceCommand } from './reproduce.command.js';
import { registerRunCommand } from './run.command.js';
import { registerRunsCommand } from './runs.command.js';
import { registerServeCommand } from './serve.command.js';
import { registerServerCommand } from './server.command.js';
import { registerServingCommands } from './serving.command.js';
import { registerWebhooksCommands } from './webhooks.command.js';
import { registerWorkerCommand } from './worker.command.js';

/**
 * Runs the CLI with the given arguments (without `node` and the script) and returns the exit code.
 * Every command works on the local workspace, or against a server when --url / SEXTANT_URL is set.
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  output: Output,
): Promise<number> {
  let context: CliContext | undefined;
  const program = new Command('sextant')
    .description('Sextant: data, runs, models, deployments, predictions, monitors, audit and costs, linked')
    .option('--json', 'machine-readable output')
    .option('--url <url>', 'talk to this Sextant server instead of the local workspace (SEXTANT_URL)')
    .option('--token <token>', 'API token for the server (SEXTANT_TOKEN)')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) })
    .showHelpAfterError();
  const ctx = () => {
    if (!context) {
      const o = program.opts<{ json?: boolean; url?: string; token?: string }>();
      context = createCliContext({
        env,
        output,
        json: Boolean(o.json),
        ...(o.url ? { url: o.url } : {}),
        ...(o.token ? { token: o.token } : {}),
      });
    }
    return context;
  };
  registerServerCommand(program, ctx);
  registerExperimentsCommand(program, ctx);
  registerRunsCommand(program, ctx);
  registerRunCommand(program, ctx);
  registerAdminCommands(program, ctx);
  const data = registerDataCommands(program, ctx);
  registerDataQualityCommands(data, ctx);
  registerLineageCommands(program, ctx);
  registerMlCommands(program, ctx);
  const models = registerModelsCommands(program, ctx);
  registerReproduceCommand(models, ctx);
  registerWebhooksCommands(program, ctx);
  registerServeCommand(program, ctx);
  registerServingCommands(program, ctx);
  registerWorkerCommand(program, ctx);
  registerJobsCommands(program, ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isAppError(err)) {
      output.err(`error: ${err.message}`);
      return exitCodeFor(err.code);
    }
    output.err(`error: ${(err as Error).message ?? String(err)}`);
    return 1;
  } finally {
    await context?.close();
  }
}
