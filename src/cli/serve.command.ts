import os from 'node:os';
import type { Command } from 'commander';
import type { Workspace } from '../app/index.js';
import { localPrincipal } from '../auth/index.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { modelNameKey } from '../registry/index.js';
import { buildServingApp } from '../server/serving-app.js';
import {
  type CreateDeploymentInput,
  type Deployment,
  defaultDeploymentName,
  deploymentNameSchema,
  HEARTBEAT_INTERVAL_MS,
  type LedgerMode,
  ledgerModeSchema,
} from '../serving/index.js';
import type { CliContext } from './context.js';

type Ctx = () => CliContext;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

interface ServeOptions {
  port: string;
  host: string;
  allowRemote?: boolean;
  name?: string;
  ledger?: string;
  pollInterval: string;
  flushInterval: string;
  shadow?: string;
  canary?: string;
  percent?: string;
}

/** Milliseconds of `500ms`, `2s` or `1m`. */
function parseInterval(value: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim());
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : Number.NaN;
  if (!Number.isFinite(ms) || ms < 10 || ms > 3_600_000) {
    throw new ValidationError(
      `${field}: '${value}' is not an interval between 10ms and 60m (e.g. 500ms, 2s, 1m)`,
      {
        field,
      },
    );
  }
  return Math.round(ms);
}

/** `<model>@<alias|n>` split at its last '@'. */
function splitServeRef(ref: string): { model: string; selector: string } {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) {
    throw new ValidationError(
      `model: '${ref}' must look like <model>@<alias> (follows the alias) or <model>@<version> (pinned), e.g. credit@champion`,
      { field: 'model' },
    );
  }
  return { model: ref.slice(0, at), selector: ref.slice(at + 1) };
}

/** The challenger the flags ask for, if any. */
function challengerOf(o: ServeOptions): CreateDeploymentInput['challenger'] {
  if (o.shadow !== undefined && o.canary !== undefined) {
    throw new ValidationError('--shadow and --canary: a deployment has one challenger; choose one', {
      field: '--canary',
    });
  }
  if (o.percent !== undefined && o.canary === undefined) {
    throw new ValidationError('--percent: only a --canary challenger answers a share of requests', {
      field: '--percent',
    });
  }
  if (o.shadow !== undefined) return { ref: o.shadow, mode: 'shadow' };
  if (o.canary === undefined) return undefined;
  const percent = Number(o.percent);
  if (o.percent === undefined || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new ValidationError(`--percent: a canary needs the share (0-100) of request keys it answers`, {
      field: '--percent',
    });
  }
  return { ref: o.canary, mode: 'canary', percent };
}

/** Whether the stored challenger is what the flags ask for. */
function sameChallenger(d: Deployment, wanted: CreateDeploymentInput['challenger']): boolean {
  if (!wanted) return d.challenger === null;
  const ref = wanted.ref.includes('@') ? wanted.ref.slice(wanted.ref.lastIndexOf('@') + 1) : wanted.ref;
  return (
    d.challenger !== null &&
    d.challenger.ref === ref &&
    d.challenger.mode === wanted.mode &&
    (wanted.mode === 'shadow' || d.challenger.percent === wanted.percent)
  );
}

/**
 * Creates the deployment record, or reuses the live one of that name when it follows the same model
 * ref; challenger and ledger flags that differ from the record update it (an audited change).
 * Without challenger flags a reused deployment keeps its challenger.
 */
async function ensureDeployment(
  ws: Workspace,
  actor: string,
  input: {
    name: string;
    model: string;
    selector: string;
    ledger?: LedgerMode;
    challenger: CreateDeploymentInput['challenger'];
  },
): Promise<{ deployment: Deployment; created: boolean }> {
  const existing = await ws.serving.deployments.find(input.name);
  if (!existing) {
    const deployment = await ws.serving.deployments.create({
      actor,
      name: input.name,
      model: `${input.model}@${input.selector}`,
      ...(input.challenger ? { challenger: input.challenger } : {}),
      ...(input.ledger ? { ledgerMode: input.ledger } : {}),
    });
    return { deployment, created: true };
  }
  // Model names match as the registry matches them (case, Unicode form).
  if (modelNameKey(existing.model) !== modelNameKey(input.model) || existing.ref !== input.selector) {
    throw new ConflictError(
      `deployment '${input.name}' serves ${existing.model}@${existing.ref}, not ${input.model}@${input.selector}; pass another --name, or change it with: sextant deployments update ${input.name} --model ${input.model}@${input.selector}`,
    );
  }
  const patch: { challenger?: CreateDeploymentInput['challenger'] | null; ledgerMode?: LedgerMode } = {};
  if (input.challenger && !sameChallenger(existing, input.challenger)) patch.challenger = input.challenger;
  if (input.ledger && input.ledger !== existing.ledgerMode) patch.ledgerMode = input.ledger;
  if (Object.keys(patch).length === 0) return { deployment: existing, created: false };
  const deployment = await ws.serving.deployments.update({ actor, name: input.name, ...patch });
  return { deployment, created: false };
}

/** `sextant serve <model>@<alias|n>`: a scoring server for one deployment on the local workspace. */
export function registerServeCommand(program: Command, ctx: Ctx): void {
  program
    .command('serve')
    .argument(
      '<model>',
      '<model>@<alias> (follows the alias: a promotion or rollback swaps the model) or <model>@<version>',
    )
    .option('--port <port>', 'port to listen on (0: any free port, printed)', '5001')
    .option('--host <host>', 'address to bind (loopback unless --allow-remote)', '127.0.0.1')
    .option(
      '--allow-remote',
      'bind a non-loopback --host: the scoring port has no authentication, so anyone who reaches it can score and send labels',
    )
    .option(
      '--name <deployment>',
      'the deployment record to create or reuse (default <model>-<alias> or <model>-v<n>)',
    )
    .option(
      '--ledger <mode>',
      "prediction log: durable (a reply leaves once its prediction is on disk) or async (faster; a crash loses at most the flush interval); default: the deployment's, else durable",
    )
    .option('--poll-interval <interval>', 'how often the alias is re-resolved (e.g. 500ms, 2s, 1m)', '2s')
    .option(
      '--flush-interval <interval>',
      'async ledger: the longest a prediction waits in memory before it is written (the crash-loss bound)',
      '200ms',
    )
    .option(
      '--shadow <ref>',
      'a challenger (alias or version of the same model) that sees every request; its answers are logged, not returned',
    )
    .option(
      '--canary <ref>',
      'a challenger that answers --percent of request keys (header x-request-key; sticky)',
    )
    .option('--percent <n>', "the canary's share of request keys, 0-100")
    .action(async (ref: string, o: ServeOptions) => {
      const c = ctx();
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535) {
        throw new ValidationError(`--port: '${o.port}' is not a port number`, { field: '--port' });
      }
      const host = o.host;
      if (!LOOPBACK.has(host) && !o.allowRemote) {
        throw new ValidationError(
          `--host: the scoring port has no authentication (anyone who reaches it can score and send labels), so serve binds loopback only; add --allow-remote to listen on ${host} (put an authenticating proxy in front)`,
          { field: '--host' },
        );
      }
      const { model, selector } = splitServeRef(ref);
      const ledger = o.ledger === undefined ? undefined : ledgerModeSchema.safeParse(o.ledger);
      if (ledger && !ledger.success) {
        throw new ValidationError(`--ledger: '${o.ledger}' must be durable or async`, { field: '--ledger' });
      }
      const pollIntervalMs = parseInterval(o.pollInterval, '--poll-interval');
      const flushIntervalMs = parseInterval(o.flushInterval, '--flush-interval');
      const challenger = challengerOf(o);
      const name =
        o.name ?? defaultDeploymentName(`${model}@${/^\d+$/.test(selector) ? `v${selector}` : selector}`);
      if (!deploymentNameSchema.safeParse(name).success) {
        throw new ValidationError(
          `--name: '${name}' is not a deployment name (letters, digits, dot, dash, underscore; starts with a letter or digit)${o.name ? '' : '; pass --name'}`,
          { field: '--name' },
        );
      }

      const ws = await c.workspace();
      if (!ws) {
        throw new ValidationError(
          'serve: SEXTANT_URL is set, but a scoring server runs on the workspace itself (its database and blob store), like a server replica: unset SEXTANT_URL and point SEXTANT_HOME, or SEXTANT_DATABASE_URL and SEXTANT_BLOB_URL, at the workspace',
          { field: 'SEXTANT_URL' },
        );
      }
      const logger = createLogger(c.config.logLevel);
      const { deployment, created } = await ensureDeployment(ws, localPrincipal.name, {
        name,
        model,
        selector,
        challenger,
        ...(ledger?.success ? { ledger: ledger.data } : {}),
      });
      const runtime = await ws.serving.openRuntime({
        actor: localPrincipal.name,
        deployment: deployment.name,
        pollIntervalMs,
        flushIntervalMs,
        logger,
      });
      const app = await buildServingApp({
        services: ws,
        runtime,
        logger,
        listenHost: host,
        allowedHosts: c.config.allowedHosts,
      });
      let address: string;
      try {
        address = await app.listen({ host, port });
      } catch (err) {
        await runtime.close();
        throw err;
      }
      // A heartbeat, so `deployments ls` can say this deployment is running, where, and since when.
      // A beat that fails (the database busy for a moment) is tried again at the next one.
      const beat = { deployment: deployment.name, host: os.hostname(), pid: process.pid, address };
      const runtimeId = await ws.serving.deployments.heartbeat(beat);
      const beating = setInterval(() => {
        // Each beat also writes the requests answered and failed so far (the UI's error figures).
        ws.serving.deployments.heartbeat({ ...beat, runtimeId, counts: runtime.counts() }).catch(() => {});
      }, HEARTBEAT_INTERVAL_MS);
      beating.unref();
      // Installed before the address is printed: a caller may signal as soon as it reads it.
      const stopped = new Promise<void>((resolve, reject) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            // Durable: every replied prediction is already on disk. Async: the unflushed rest is lost.
            c.output.err(
              `sextant serve: ${signal} again - exiting now${deployment.ledgerMode === 'async' ? ' (async ledger: predictions not yet flushed are lost)' : ''}`,
            );
            process.exit(130);
          }
          stopping = true;
          c.output.err(`sextant serve: ${signal} - draining in-flight requests, flushing the prediction log`);
          // Closing the app drains it: /readyz 503, no new connections, in-flight requests answered,
          // then the runtime closes (ledger flushed, models released).
          clearInterval(beating);
          app
            .close()
            .then(() => ws.serving.deployments.stopped(runtimeId, runtime.counts()).catch(() => {}))
            .then(() => {
              c.output.err('sextant serve: stopped; every answered prediction is in the log');
              resolve();
            }, reject);
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
      const served = runtime.serving();
      const mode = deployment.ledgerMode;
      const lines = [
        `serving ${model}@${selector} (v${served.champion.version}) on ${address}`,
        `  deployment: ${deployment.name} (${deployment.id}, ${created ? 'created' : 'reused'})`,
        /^\d+$/.test(selector)
          ? `  model:      ${model}@${served.champion.version}, pinned`
          : `  model:      ${model}@${served.champion.version}, following alias '${selector}' (checked every ${o.pollInterval})`,
        mode === 'durable'
          ? '  ledger:     durable - a reply leaves once its prediction is on disk (group commit)'
          : `  ledger:     async - replies before the log write; a crash loses at most the last ${flushIntervalMs} ms of predictions`,
        ...(deployment.challenger
          ? [
              `  challenger: ${model}@${deployment.challenger.ref}${served.challenger ? ` (v${served.challenger.version})` : ' (not loaded yet)'}, ${
                deployment.challenger.mode === 'shadow'
                  ? 'shadow: sees every request, answers are logged only'
                  : `canary: answers ${deployment.challenger.percent}% of request keys`
              }`,
            ]
          : []),
        '  endpoints:  POST /predict (/invocations), POST /feedback, GET /metrics /healthz /readyz',
        LOOPBACK.has(host)
          ? '  access:     loopback only, no authentication'
          : `  access:     WARNING: listening on ${host} with no authentication on the scoring port`,
      ];
      if (c.json) {
        c.output.out(
          JSON.stringify({
            url: address,
            deployment,
            version: served.champion.version,
            challengerVersion: served.challenger?.version ?? null,
            ledger: mode,
          }),
        );
        c.output.err(lines[0]!);
      } else {
        c.output.out(lines.join('\n'));
      }

      await stopped;
    });
}
