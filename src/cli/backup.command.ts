import type { Command } from 'commander';
import { localPrincipal } from '../auth/index.js';
import { ValidationError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

function needsLocal(c: CliContext, command: string): void {
  if (c.remoteUrl)
    throw new ValidationError(
      `${command} works on the workspace's own database and blob store: run it where they are reachable, without --url / SEXTANT_URL`,
      { field: '--url' },
    );
}

/** `sextant backup <file>` and `sextant restore <file>`. */
export function registerBackupCommands(program: Command, ctx: Ctx): void {
  program
    .command('backup <file>')
    .description(
      'write one archive (tar) of the database snapshot and every blob, with a manifest of sha256 digests; the workspace keeps working meanwhile',
    )
    .action(async (file: string) => {
      const c = ctx();
      needsLocal(c, 'backup');
      const ws = await c.workspace();
      if (!ws) return;
      const { backupWorkspace } = await import('../app/backup/index.js');
      const { resolveAuditKey } = await import('../audit/index.js');
      const progress = progressLine(c);
      const r = await backupWorkspace(ws, file, {
        actor: localPrincipal.name,
        auditKey: resolveAuditKey(c.config.home, c.config.auditKey),
        onProgress: (done, total) => progress.bytes('archiving', done, total),
      }).finally(() => progress.end());
      const m = r.manifest;
      if (c.json)
        return c.output.out(
          JSON.stringify({
            file: r.file,
            bytes: r.bytes,
            backend: m.backend,
            blobs: m.blobs,
            auditHead: m.auditHead,
          }),
        );
      c.output.out(
        `backup written: ${r.file} (${r.bytes} bytes; ${m.backend} database, ${m.blobs} blobs, audit head ${m.auditHead?.seq ?? 0})`,
      );
    });
  program
    .command('restore <file>')
    .description(
      'restore a backup into this (empty) workspace: checks every digest first, then verifies the audit chain and the governed tables',
    )
    .option('--force', 'replace a workspace that is not empty (its database is replaced; its blobs are kept)')
    .action(async (file: string, o: { force?: boolean }) => {
      const c = ctx();
      needsLocal(c, 'restore');
      const { restoreWorkspace } = await import('../app/backup/index.js');
      const progress = progressLine(c);
      const r = await restoreWorkspace(c.config, file, {
        force: o.force === true,
        actor: localPrincipal.name,
        onProgress: (done, total) => progress.bytes('restoring', done, total),
      }).finally(() => progress.end());
      if (c.json)
        return c.output.out(
          JSON.stringify({ backend: r.manifest.backend, blobsWritten: r.blobsWritten, verify: r.verify }),
        );
      c.output.out(
        `restored ${file}: ${r.manifest.backend} database (audit head ${r.manifest.auditHead?.seq ?? 0}), ${r.blobsWritten} blobs written; audit chain OK: ${r.verify.entries} entries, the governed tables match`,
      );
    });
}
