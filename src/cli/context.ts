import type { CoreWorkspace, Workspace } from '../app/index.js';
import type { SextantApi } from '../client/index.js';
import { type Config, loadConfig } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import type { Output } from './output.js';

/** What every command gets: the API (local or remote, decided once), output, and the --json switch. */
export interface CliContext {
  config: Config;
  output: Output;
  json: boolean;
  /** The server this context talks to; undefined means the local workspace. */
  remoteUrl: string | undefined;
  token: string | undefined;
  /** The API over the chosen transport; opens the local workspace on first use. */
  api(): Promise<SextantApi>;
  /** The local workspace, for commands that run a server in-process; undefined when remote. */
  workspace(): Promise<Workspace | undefined>;
  /** The exit code when the command returns normally: 0 unless a command passes one on (`sextant run`). */
  readonly exitCode: number;
  setExitCode(code: number): void;
  close(): Promise<void>;
}

export function createCliContext(opts: {
  env: Record<string, string | undefined>;
  output: Output;
  url?: string;
  token?: string;
  json: boolean;
}): CliContext {
  const config = loadConfig(opts.env);
  const url = opts.url ?? config.remoteUrl;
  if (opts.token && !url)
    // The local workspace acts as its own admin; acting as someone else needs their server.
    throw new ValidationError(
      '--token needs a server: give --url (or set SEXTANT_URL); the local workspace has no users and acts as its local admin',
      { field: '--token' },
    );
  if (config.token && !url)
    opts.output.err(
      'warning: SEXTANT_TOKEN is set but SEXTANT_URL is not: working on the local workspace as its local admin',
    );
  const token = opts.token ?? config.token;
  let exitCode = 0;
  // Imported on first use, and only as far as the command needs: the core (audit, users, datasets,
  // tracking) for a listing, every domain for a command that reaches the registry or serving. The
  // HTTP client is only fetch wrappers.
  let core: Promise<CoreWorkspace> | undefined;
  let full: Promise<Workspace> | undefined;
  const openCore = () => {
    core ??= import('../app/core-services.js').then((m) => m.openCoreWorkspace(config));
    return core;
  };
  const openFull = () => {
    full ??= Promise.all([openCore(), import('../app/services.js')]).then(([c, m]) => m.completeWorkspace(c));
    return full;
  };
  return {
    config,
    output: opts.output,
    json: opts.json,
    api: async () =>
      url
        ? (await import('../client/index.js')).createHttpClient({ url, ...(token ? { token } : {}) })
        : (await import('./local-api.js')).createLazyLocalApi({ core: await openCore(), full: openFull }),
    workspace: async () => (url ? undefined : openFull()),
    get exitCode() {
      return exitCode;
    },
    setExitCode: (code) => {
      exitCode = code;
    },
    close: async () => {
      // The full workspace closes its core too.
      if (full) await (await full).close();
      else if (core) await (await core).close();
    },
    remoteUrl: url,
    token,
  };
}
