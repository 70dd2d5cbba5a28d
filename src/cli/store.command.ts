import type { Command } from 'commander';
import { localPrincipal } from '../auth/index.js';
import { ValidationError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

/** `sextant store migrate --to postgres://... [--blobs s3://...]`. */
export function registerStoreCommands(program: Command, ctx: Ctx): void {
  const store = program.command('store');
  store
    .command('migrate')
    .description(
      'copy this SQLite workspace into an empty PostgreSQL database (and its blobs to --blobs), every id, digest and audit entry kept; verifies row counts and the audit chain',
    )
    .requiredOption('--to <url>', 'the PostgreSQL database to fill (postgres://...); it must be empty')
    .option('--blobs <url>', 'also copy every blob to this store (s3://bucket/prefix or file:/path)')
    .action(async (o: { to: string; blobs?: string }) => {
      const c = ctx();
      if (c.remoteUrl)
        throw new ValidationError(
          'store migrate works on the local workspace: run it without --url / SEXTANT_URL',
          {
            field: '--url',
          },
        );
      const { migrateStore } = await import('../app/backup/index.js');
      const progress = progressLine(c);
      const r = await migrateStore(c.config, {
        to: o.to,
        ...(o.blobs ? { blobs: o.blobs } : {}),
        actor: localPrincipal.name,
        onProgress: (p) => {
          if (p.phase === 'tables') progress.count('copying', p.done, p.total, 'tables', p.note);
          else if (p.phase === 'blobs') progress.tally('blobs', `${p.done} copied`);
          else progress.step('verifying', p.note ?? '');
        },
      }).finally(() => progress.end());
      const rows = r.tables.reduce((n, t) => n + t.rows, 0);
      if (c.json)
        return c.output.out(
          JSON.stringify({ tables: r.tables, blobsCopied: r.blobsCopied, verify: r.verify }),
        );
      c.output.out(
        `moved ${rows} rows in ${r.tables.length} tables${o.blobs ? ` and ${r.blobsCopied} blobs` : ''}; audit chain OK on the target: ${r.verify.entries} entries, the governed tables match`,
      );
      c.output.out(
        `now point the workspace at it: SEXTANT_DATABASE_URL=<the --to URL>${o.blobs ? ` SEXTANT_BLOB_URL=${o.blobs}` : ''}`,
      );
    });
}
