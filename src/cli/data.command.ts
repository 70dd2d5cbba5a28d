import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** `sextant data ...`: dataset versions. Returns the group so other files can add subcommands. */
export function registerDataCommands(program: Command, _ctx: () => CliContext): Command {
  return program.command('data').description('datasets and their versions');
}
