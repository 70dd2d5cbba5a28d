import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** `sextant webhooks ...` (placeholder until that work lands). */
export function registerWebhooksCommands(_program: Command, _ctx: () => CliContext): void {}
