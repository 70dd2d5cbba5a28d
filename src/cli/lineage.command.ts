import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** `sextant lineage` and `sextant gc` (placeholder until that work lands). */
export function registerLineageCommands(_program: Command, _ctx: () => CliContext): void {}
