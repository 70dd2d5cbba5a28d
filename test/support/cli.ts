import { z } from 'zod';
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
