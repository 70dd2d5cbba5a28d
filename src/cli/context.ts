import { openWorkspace, type Workspace } from '../app/index.js';
import type { SextantApi } from '../client/index.js';
import { createHttpClient } from '../client/index.js';
import { type Config, loadConfig } from '../core/config.js';
import { createLocalApi } from './local-api.js';
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
  const token = opts.token ?? config.token;
  let ws: Promise<Workspace> | undefined;
  const open = () => {
    ws ??= openWorkspace(config);
    return ws;
  };
  return {
    config,
    output: opts.output,
    json: opts.json,
    api: async () =>
      url ? createHttpClient({ url, ...(token ? { token } : {}) }) : createLocalApi(await open()),
    workspace: async () => (url ? undefined : open()),
    close: async () => {
      if (ws) await (await ws).close();
    },
    remoteUrl: url,
    token,
  };
}
