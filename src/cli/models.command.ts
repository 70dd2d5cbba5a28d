import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** `sextant models ...`: the model registry. Returns the group so other files can add subcommands. */
export function registerModelsCommands(program: Command, _ctx: () => CliContext): Command {
  return program.command('models').description('registered models, versions, aliases and promotions');
}
