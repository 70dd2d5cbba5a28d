import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Adds `sextant models reproduce` (placeholder until the training work lands). */
export function registerReproduceCommand(_models: Command, _ctx: () => CliContext): void {}
