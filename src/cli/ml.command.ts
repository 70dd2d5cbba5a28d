import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** `sextant train`, `evaluate` and `sweep` (placeholder until that work lands). */
export function registerMlCommands(_program: Command, _ctx: () => CliContext): void {}
