import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Adds the table commands (validate, suggest, compare, profile) to `sextant data`. */
export function registerDataQualityCommands(_data: Command, _ctx: () => CliContext): void {}
