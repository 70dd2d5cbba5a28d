import os from 'node:os';
import type { Command } from 'commander';
import { startBackgroundWork } from '../app/index.js';
import { ValidationError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { buildApp } from '../server/app.js';
import { redactUrl } from '../store/index.js';
import type { CliContext } from './context.js';

type Ctx = () => CliContext;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** `sextant server`: the API server (native + MLflow-compatible) on the workspace. */
export function registerServerCommand(program: Command, ctx: Ctx): void {
  program
    .command('server')
    .option('--host <host>', 'address to bind (SEXTANT_HOST)')
    .option('--port <port>', 'port to listen on (SEXTANT_PORT)')
    .option(
      '--allowed-hosts <names>',
      'comma-separated host names clients reach the server by, besides its address (SEXTANT_ALLOWED_HOSTS; `*.example.com`, `*` for any)',
    )
    .action(async (o: { host?: string; port?: string; allowedHosts?: string }) => {
      const c = ctx();
      const host = o.host ?? c.config.host;
      const port = o.port === undefined ? c.config.port : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new ValidationError(`--port: '${o.port}' is not a port number`, { field: '--port' });
      }
      // Without authentication anyone who can reach the port is an admin, so only this machine may.
      if (c.config.authMode === 'off' && !LOOPBACK.has(host)) {
        throw new ValidationError(
          `--host: auth is off (SEXTANT_AUTH=off), so the server binds to loopback only; set SEXTANT_AUTH=token to listen on ${host}`,
          { field: '--host' },
        );
      }
      const ws = await c.workspace();
      if (!ws)
        throw new ValidationError(
          'server: SEXTANT_URL is set; the server runs on a local workspace, unset it',
          { field: 'SEXTANT_URL' },
        );
      const app = await buildApp(ws, {
        logger: createLogger(c.config.logLevel),
        listenHost: host,
        allowedHosts: (o.allowedHosts ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      });
      const address = await app.listen({ host, port });
      // Deployments hosted here (opened on their first request) heartbeat as `sextant serve` does, so
      // `deployments ls` shows them running at this address.
      await ws.serving.host.startHeartbeats({ host: os.hostname(), pid: process.pid, address });
      // The platform's upkeep (event and webhook retries) runs as jobs on the system queue; any number
      // of replicas may work it, and each tick runs once.
      const background = await startBackgroundWork(ws.jobs);
      c.output.err(
        [
          `sextant server listening on ${address}`,
          `  database: ${redactUrl(c.config.databaseUrl)}`,
          `  blobs:    ${c.config.blobUrl}`,
          c.config.authMode === 'off'
            ? '  auth:     OFF (every caller is admin) - bound to loopback only; set SEXTANT_AUTH=token to open it up'
            : '  auth:     API tokens required (Authorization: Bearer <token>)',
          `  MLflow:   export MLFLOW_TRACKING_URI=${address}`,
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          c.output.err('sextant server: shutting down');
          app
            .close()
            .then(() => background.close())
            .then(() => resolve());
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
