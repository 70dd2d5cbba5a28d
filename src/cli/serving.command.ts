import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** SCAFFOLD (trace helper): `deployments`, `predictions`, `feedback`, `trace`, `explain`. */
export function registerServingCommands(_program: Command, _ctx: () => CliContext): void {}
