import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { SextantApi } from '../client/index.js';
import { ValidationError } from '../core/errors.js';
import { meterProcess, sampleGpus } from '../cost/index.js';
import type { RunStatus } from '../tracking/tracking.schema.js';
import type { CliContext } from './context.js';
import { gitInfo } from './git-info.js';
import { parsePairs } from './output.js';

type Ctx = () => CliContext;

function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

async function experimentIdFor(api: SextantApi, ref: string | undefined): Promise<string> {
  if (!ref) return '0';
  if (/^\d+$/.test(ref)) return (await api.experiments.get(ref)).id;
  try {
    return (await api.experiments.getByName(ref)).id;
  } catch (err) {
    if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
    return (await api.experiments.create({ name: ref })).id;
  }
}

/**
 * The tracking URI handed to the child: the remote server, or, on a local workspace, a server
 * started in-process on a loopback port for as long as the command runs.
 */
async function trackingServer(ctx: CliContext): Promise<{ uri: string; close(): Promise<void> }> {
  if (ctx.remoteUrl) return { uri: ctx.remoteUrl, close: async () => {} };
  const ws = await ctx.workspace();
  if (!ws) throw new Error('no workspace');
  // Loaded only here: Fastify and the routes are not needed when a server is given.
  const { buildApp } = await import('../server/app.js');
  const app = await buildApp({ ...ws, config: { ...ws.config, authMode: 'off' } });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { uri: address, close: () => app.close() };
}

/** `sextant run -- <command...>`: runs any command as a tracked run. */
export function registerRunCommand(program: Command, ctx: Ctx): void {
  program
    .command('run')
    .option('-e, --experiment <id-or-name>', 'experiment (created if the name is new)')
    .option('-n, --name <name>', 'run name')
    .option('-p, --param <k=v...>', 'params to log before the command starts')
    .option('-t, --tag <k=v...>', 'tags')
    .argument('<command...>', 'the command, after --')
    .passThroughOptions()
    .action(
      async (
        command: string[],
        o: { experiment?: string; name?: string; param?: string[]; tag?: string[] },
      ) => {
        const c = ctx();
        if (command.length === 0)
          throw new ValidationError('command: give the command to run after --', { field: 'command' });
        const params = parsePairs(o.param, '--param');
        const tags = parsePairs(o.tag, '--tag');
        const api = await c.api();
        const cwd = process.cwd();
        const git = gitInfo(cwd);
        const run = await api.runs.create({
          experimentId: await experimentIdFor(api, o.experiment),
          ...(o.name ? { name: o.name } : {}),
          command: shellQuote(command),
          userId: os.userInfo().username,
          ...(git ? { gitCommit: git.commit, gitDirty: git.dirty } : {}),
          tags: {
            'mlflow.source.type': 'LOCAL',
            'mlflow.source.name': command[0]!,
            'mlflow.user': os.userInfo().username,
            ...(git ? { 'mlflow.source.git.commit': git.commit } : {}),
            ...tags,
          },
        });
        if (Object.keys(params).length) {
          await api.runs.logBatch(run.id, {
            params: Object.entries(params).map(([key, value]) => ({ key, value })),
          });
        }
        const server = await trackingServer(c);
        const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-run-'));
        const outFile = fs.createWriteStream(path.join(logDir, 'stdout.txt'));
        const errFile = fs.createWriteStream(path.join(logDir, 'stderr.txt'));
        c.output.err(`sextant: run ${run.id} (${run.name}) started: ${shellQuote(command)}`);

        const started = process.hrtime.bigint();
        const startedAt = Date.now();
        const child = spawn(command[0]!, command.slice(1), {
          cwd,
          stdio: ['inherit', 'pipe', 'pipe'],
          env: {
            ...process.env,
            SEXTANT_RUN_ID: run.id,
            MLFLOW_RUN_ID: run.id,
            MLFLOW_TRACKING_URI: server.uri,
            MLFLOW_EXPERIMENT_ID: run.experimentId,
            // Against a server with auth on, the child's MLflow client needs the same token to log.
            ...(c.remoteUrl && c.token ? { MLFLOW_TRACKING_TOKEN: c.token, SEXTANT_TOKEN: c.token } : {}),
          },
        });
        const meter = child.pid ? meterProcess(child.pid) : undefined;
        // GPUs held by the child's process tree; without nvidia-smi the run is metered without them.
        const gpu = meter ? sampleGpus({ pids: () => meter.pids() }) : undefined;
        child.stdout.on('data', (d: Buffer) => {
          process.stdout.write(d);
          outFile.write(d);
        });
        child.stderr.on('data', (d: Buffer) => {
          process.stderr.write(d);
          errFile.write(d);
        });
        const forward = (sig: NodeJS.Signals) => child.kill(sig);
        process.on('SIGINT', forward);
        process.on('SIGTERM', forward);
        const { code, signal, spawnError } = await new Promise<{
          code: number | null;
          signal: NodeJS.Signals | null;
          spawnError?: Error;
        }>((resolve) => {
          child.once('error', (err) => resolve({ code: 127, signal: null, spawnError: err }));
          child.once('close', (code, signal) => resolve({ code, signal }));
        });
        process.off('SIGINT', forward);
        process.off('SIGTERM', forward);
        const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const usage = meter?.stop() ?? { cpuSeconds: null, peakRssBytes: null };
        const gpuUsage = await gpu?.stop();
        if (spawnError) errFile.write(`sextant: could not start '${command[0]}': ${spawnError.message}\n`);
        await Promise.all([outFile, errFile].map((f) => new Promise((r) => f.end(r))));
        await server.close();

        const exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
        const status: RunStatus =
          exitCode === 0 ? 'FINISHED' : signal === 'SIGINT' || signal === 'SIGTERM' ? 'KILLED' : 'FAILED';
        const now = Date.now();
        const metrics = [
          { key: 'sextant.wall_time_s', value: wallSeconds, timestamp: now, step: 0 },
          { key: 'sextant.exit_code', value: exitCode, timestamp: now, step: 0 },
          ...(usage.cpuSeconds !== null
            ? [{ key: 'sextant.cpu_time_s', value: usage.cpuSeconds, timestamp: now, step: 0 }]
            : []),
          ...(usage.peakRssBytes !== null
            ? [
                {
                  key: 'sextant.peak_memory_mb',
                  value: usage.peakRssBytes / 2 ** 20,
                  timestamp: now,
                  step: 0,
                },
              ]
            : []),
        ];
        try {
          await api.cost.recordUsage({
            kind: 'run',
            runId: run.id,
            host: os.hostname(),
            startedAt,
            endedAt: startedAt + Math.round(wallSeconds * 1000),
            cpuSeconds: usage.cpuSeconds,
            peakMemoryBytes: usage.peakRssBytes,
            ...(gpuUsage?.devices.length ? { gpuDevices: gpuUsage.devices } : {}),
            notes: [
              ...(usage.cpuSeconds === null ? ['cpu and memory: no /proc on this system'] : []),
              ...(gpuUsage?.note ? [`no GPU figures: ${gpuUsage.note}`] : []),
            ],
          });
        } catch (err) {
          // The run's own record matters more than its cost line: say so and go on.
          c.output.err(`sextant: could not record the run's usage: ${(err as Error).message}`);
        }
        if (gpuUsage?.gpuSeconds)
          metrics.push({ key: 'sextant.gpu_seconds', value: gpuUsage.gpuSeconds, timestamp: now, step: 0 });
        await api.runs.logBatch(run.id, {
          metrics,
          tags: [
            { key: 'sextant.exit_code', value: String(exitCode) },
            ...(signal ? [{ key: 'sextant.signal', value: signal }] : []),
          ],
        });
        for (const name of ['stdout.txt', 'stderr.txt']) {
          await api.runs.uploadArtifact(run.id, `logs/${name}`, fs.createReadStream(path.join(logDir, name)));
        }
        fs.rmSync(logDir, { recursive: true, force: true });
        await api.runs.update(run.id, { status, endTime: Date.now() });

        const summary = {
          runId: run.id,
          name: run.name,
          status,
          exitCode,
          wallSeconds,
          cpuSeconds: usage.cpuSeconds,
          peakMemoryMb: usage.peakRssBytes === null ? null : usage.peakRssBytes / 2 ** 20,
        };
        if (c.json) c.output.out(JSON.stringify(summary));
        c.output.err(
          `sextant: run ${run.id} ${status} in ${wallSeconds.toFixed(2)}s (exit ${exitCode}` +
            `${usage.cpuSeconds !== null ? `, cpu ${usage.cpuSeconds.toFixed(2)}s` : ''}` +
            `${summary.peakMemoryMb !== null ? `, peak ${summary.peakMemoryMb.toFixed(1)} MiB` : ''}); see: sextant runs show ${run.id}`,
        );
        c.setExitCode(exitCode);
      },
    );
}
