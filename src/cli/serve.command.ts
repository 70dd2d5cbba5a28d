import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** SCAFFOLD (serve helper): `sextant serve <model>@<alias|n>`. */
export function registerServeCommand(_program: Command, _ctx: () => CliContext): void {}
