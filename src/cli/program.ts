import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { exitCodeFor, isAppError } from '../core/errors.js';
import { commandModules, commandNamedIn } from './commands.js';
import { completeWords, completionScript, type Shell, shells } from './completion.js';
import type { CliContext } from './context.js';
import { CliOutcome, exitCodes } from './exit-codes.js';
import type { Output } from './output.js';

/** Options every command accepts, before or after its name: `sextant --json data ls` = `sextant data ls --json`. */
interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
}

const globalOptions = () => [
  new Option('--json', 'machine-readable output (errors too, on stderr)'),
  new Option('--url <url>', 'talk to this Sextant server instead of the local workspace (SEXTANT_URL)'),
  new Option('--token <token>', 'API token for the server given by --url or SEXTANT_URL (SEXTANT_TOKEN)'),
];

/** The package's version; package.json sits two folders up from src/cli/ and from dist/bin/ alike. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Every command below the root, depth first. */
function descendants(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...descendants(c)]);
}

/** The space-separated path of a command without the program name, e.g. "models promote". */
function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Makes the tree behave the same at every level: global options accepted (and hidden from each
 * subcommand's own list; help shows them as global), a one-line hint instead of the whole help after
 * an error, and an unknown word in a group with a default `ls` reported as an unknown command with a
 * suggestion instead of being handed to `ls`.
 */
function finishTree(program: Command, listedOnly: Set<Command>): void {
  for (const cmd of descendants(program)) {
    if (listedOnly.has(cmd)) continue;
    const own = new Set(cmd.options.map((o) => o.long));
    for (const o of globalOptions()) if (!own.has(o.long)) cmd.addOption(o.hideHelp());
    cmd.showHelpAfterError(`(see: sextant ${pathOf(cmd)} --help)`);
    const defaultName = (cmd as unknown as { _defaultCommandName?: string | null })._defaultCommandName;
    if (defaultName) {
      cmd.hook('preSubcommand', (group, sub) => {
        // Default commands take no arguments, so a word reaching one is a mistyped subcommand.
        const word = group.args[0];
        if (sub.name() === defaultName && word !== undefined && !word.startsWith('-') && word !== defaultName)
          (group as unknown as { unknownCommand(): never }).unknownCommand();
      });
    }
  }
}

/**
 * Defines the named command in full (its module is imported now) and the others as one-line entries
 * for the help listing and for typo suggestions.
 */
async function addCommands(
  program: Command,
  ctx: () => CliContext,
  name: string | undefined,
): Promise<Set<Command>> {
  const listed = new Set<Command>();
  for (const m of commandModules) {
    if (name !== undefined && name in m.summaries) (await m.load())(program, ctx);
    // Two modules may share a top-level command (monitor): it is listed once.
    else
      for (const n of Object.keys(m.summaries))
        listed.add(program.commands.find((c) => c.name() === n) ?? program.command(n));
  }
  for (const m of commandModules)
    for (const [n, summary] of Object.entries(m.summaries))
      program.commands.find((c) => c.name() === n)?.description(summary);
  return listed;
}

/** The global options of the command that runs: its own, else its nearest ancestor's. */
function globalsOf(cmd: Command): GlobalOptions {
  const found: GlobalOptions = {};
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.opts<GlobalOptions>();
    if (o.json) found.json = true;
    if (found.url === undefined && o.url !== undefined) found.url = o.url;
    if (found.token === undefined && o.token !== undefined) found.token = o.token;
  }
  return found;
}

/** `--json` before a `--` (what follows `--` belongs to the command `sextant run` starts). */
function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Commander puts its suggestion on a line of its own; git and gh keep it on the error's line. */
const oneLine = (message: string) => message.replace(/\n\(Did you mean/g, ' (did you mean').trim();

interface Failure {
  code: string;
  message: string;
  exitCode: number;
  details?: Record<string, unknown>;
}

function failureOf(err: unknown): Failure {
  if (err instanceof CliOutcome)
    return {
      code: err.code,
      message: err.message,
      exitCode: err.exitCode,
      ...(err.details ? { details: err.details } : {}),
    };
  if (err instanceof CommanderError)
    return {
      code: 'USAGE',
      message: oneLine(err.message.replace(/^error: /, '')),
      exitCode: exitCodes.usage,
    };
  const sys = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (sys?.code === 'EADDRINUSE')
    return {
      code: 'UNAVAILABLE',
      message: `port ${sys.port} on ${sys.address} is already in use: stop what listens there, or pass --port 0 for any free port`,
      exitCode: exitCodes.unavailable,
      details: { field: '--port', port: sys.port },
    };
  if (isAppError(err))
    return {
      code: err.code,
      message: err.message,
      exitCode: exitCodeFor(err.code),
      ...(err.details ? { details: err.details } : {}),
    };
  return {
    code: 'INTERNAL',
    message: (err as Error)?.message ?? String(err),
    exitCode: exitCodes.unexpected,
  };
}

/**
 * Runs the CLI with the given arguments (without `node` and the script) and returns the exit code.
 * Every command works on the local workspace, or against a server when --url / SEXTANT_URL is set.
 */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  output: Output,
): Promise<number> {
  const json = jsonRequested(argv);
  let context: CliContext | undefined;
  let globals: GlobalOptions = {};
  const program = new Command('sextant')
    .description(
      'Sextant: datasets, runs, models, approvals, deployments, predictions, monitors, pipelines, costs and the audit trail, linked',
    )
    .version(packageVersion(), '-V, --version', 'the version of sextant')
    .enablePositionalOptions()
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => output.out(s),
      // With --json a parse error is reported once, as JSON, by the catch below.
      writeErr: (s) => (json ? undefined : output.err(s)),
      outputError: (s, write) => write(`${oneLine(s)}\n`),
    })
    .showHelpAfterError('(see: sextant --help)');
  for (const o of globalOptions()) program.addOption(o);
  // The context (config, zod, the transports) is loaded only once a command is about to run.
  let contexts: typeof import('./context.js') | undefined;
  program.hook('preAction', async (_root, action) => {
    globals = globalsOf(action);
    contexts = await import('./context.js');
  });
  const ctx = () => {
    if (!contexts) throw new Error('the CLI context is used before a command runs');
    context ??= contexts.createCliContext({
      env,
      output,
      json: Boolean(globals.json),
      ...(globals.url ? { url: globals.url } : {}),
      ...(globals.token ? { token: globals.token } : {}),
    });
    return context;
  };

  program
    .command('completion')
    .description(
      `print the shell completion script (${shells.join(', ')}); e.g. source <(sextant completion bash)`,
    )
    .addArgument(new Argument('<shell>').choices(shells))
    .action((shell: Shell) => output.out(completionScript(shell)));
  const completing = argv[0] === '__complete';
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(() => output.out(completeWords(program, argv.slice(1)).join('\n')));

  try {
    const named = commandNamedIn(completing ? argv.slice(1) : argv);
    finishTree(program, await addCommands(program, ctx, named));
    await program.parseAsync(argv, { from: 'user' });
    return context?.exitCode ?? exitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return exitCodes.ok;
    const f = failureOf(err);
    if (json) {
      const { exitCode, ...error } = f;
      output.err(JSON.stringify({ error: { ...error, exitCode } }));
    } else if (!(err instanceof CommanderError)) {
      // Commander has already printed its own message (and a hint) for a usage error.
      output.err(`error: ${f.message}`);
    }
    return f.exitCode;
  } finally {
    await context?.close();
  }
}
