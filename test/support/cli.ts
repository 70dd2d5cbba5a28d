import { z } from 'zod';
import type { Output } from '../../src/cli/output.js';
import { runCli } from '../../src/cli/program.js';

/** What one CLI invocation printed and its exit code. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process with this environment, as a user would type `sextant <argv...>`. */
export async function cli(env: Record<string, string>, ...argv: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await runCli(argv, env, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  // A command that fails sets process.exitCode; the next test (and vitest itself) must not inherit it.
  process.exitCode = undefined;
  return { code, out, err };
}

/** What the CLI writes on stderr for an error under --json. */
export const cliJsonError = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    exitCode: z.number(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** What one CLI call printed: its exit code, stdout, stderr and the progress lines it drew. */
export interface Captured {
  code: number;
  out: string;
  err: string;
  progress: string[];
}

/**
 * Runs the CLI in-process as on a terminal (`terminal` true: interactive, progress drawn at once) or
 * piped (false), capturing what it prints; a progress line's end is recorded as '<end>'.
 */
export async function runOnTerminal(
  env: Record<string, string>,
  terminal: boolean,
  ...argv: string[]
): Promise<Captured> {
  let out = '';
  let err = '';
  const progress: string[] = [];
  const output: Output = {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
    interactive: terminal,
    progress: (line) => progress.push(line ?? '<end>'),
    progressAfterMs: 0,
  };
  const code = await runCli(argv, env, output);
  process.exitCode = undefined;
  return { code, out, err, progress };
}
