import fs from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import type { Role } from '../auth/index.js';
import { roleSchema } from '../auth/index.js';
import { IntegrityError, ValidationError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { LIST_MAX, positiveInt } from './options.js';
import { painter, table } from './output.js';

type Ctx = () => CliContext;

const checkpointFileSchema = z.object({
  seq: z.number(),
  hash: z.string(),
  at: z.number(),
  signature: z.string(),
  prevSeq: z.number().nullable().optional(),
  prevSignature: z.string().nullable().optional(),
});

function parseRole(role: string): Role {
  const r = roleSchema.safeParse(role);
  if (!r.success)
    throw new ValidationError(`--role: must be one of viewer, editor, approver, admin (got '${role}')`, {
      field: '--role',
    });
  return r.data;
}

/**
 * What people call an audited entity, read from the entry's details: `credit@3` for a model or dataset
 * version, else its name; ids stay in the ENTITY column.
 */
function nameOf(details: Record<string, unknown> | null | undefined): string {
  const d = details ?? {};
  const text = (k: string) =>
    typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : undefined;
  const model = text('model');
  const dataset = text('dataset');
  const version = text('version') ?? text('number');
  if (model && version) return `${model}@${version}`;
  if (dataset && version) return `${dataset}@${version}`;
  return text('name') ?? model ?? dataset ?? text('alias') ?? '';
}

/** `sextant audit verify|checkpoint|log`, `sextant users ...`, `sextant tokens ...`. */
export function registerAdminCommands(program: Command, ctx: Ctx): void {
  const audit = program.command('audit');
  audit
    .command('verify')
    .description(
      'check the whole chain: edits, deletions, insertions, reordering, truncation, rollback and wipes (against the head witness beside the audit key)',
    )
    .option('--checkpoint <file>', 'also check against a checkpoint kept outside the database')
    .option(
      '--deep',
      'also check users, tokens, aliases and their history, model versions and approvals against what their last audit entries recorded',
    )
    .action(async (o: { checkpoint?: string; deep?: boolean }) => {
      const c = ctx();
      let checkpoint: z.infer<typeof checkpointFileSchema> | undefined;
      if (o.checkpoint) {
        const parsed = checkpointFileSchema.safeParse(JSON.parse(fs.readFileSync(o.checkpoint, 'utf8')));
        if (!parsed.success)
          throw new ValidationError(`--checkpoint: ${o.checkpoint} is not a checkpoint file`, {
            field: '--checkpoint',
          });
        checkpoint = parsed.data;
      }
      const result = await (await c.api()).audit.verify(checkpoint, o.deep ? { deep: true } : {});
      if (c.json) c.output.out(JSON.stringify(result, null, 2));
      else if (result.ok)
        c.output.out(
          `audit chain ${painter(c.output)('OK')}: ${result.entries} entries, head ${result.head?.seq ?? 0}, ${result.checkpoints} checkpoints${o.deep ? '; the governed tables match their last audit entries' : ''}`,
        );
      else {
        c.output.out(
          `audit chain ${painter(c.output)('BROKEN')}: ${result.problems.length} problem(s) in ${result.entries} entries`,
        );
        for (const p of result.problems) c.output.out(`  [${p.kind}] ${p.message}`);
      }
      if (!result.ok)
        throw new IntegrityError(`the audit chain is broken: ${result.problems.length} problem(s)`);
    });
  audit
    .command('checkpoint')
    .description('record a signed checkpoint of the head; keep the --out file somewhere else')
    .option('--out <file>', 'also write the checkpoint to this file')
    .action(async (o: { out?: string }) => {
      const c = ctx();
      const cp = await (await c.api()).audit.checkpoint();
      if (cp && o.out) fs.writeFileSync(o.out, `${JSON.stringify(cp)}\n`);
      c.output.out(
        c.json
          ? JSON.stringify({ checkpoint: cp })
          : cp
            ? `checkpoint at entry ${cp.seq}: ${cp.hash}`
            : 'the audit log is empty',
      );
    });
  audit
    .command('log')
    .description('the newest audit entries')
    .option('--entity-type <type>')
    .option('--entity-id <id>')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (o: { entityType?: string; entityId?: string; limit: string }) => {
      const c = ctx();
      const entries = await (await c.api()).audit.list({
        limit: positiveInt(o.limit, '--limit', LIST_MAX),
        ...(o.entityType ? { entityType: o.entityType } : {}),
        ...(o.entityId ? { entityId: o.entityId } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify({ entries }, null, 2));
      c.output.out(
        table(
          ['SEQ', 'AT', 'ACTOR', 'ACTION', 'NAME', 'ENTITY'],
          entries.map((e) => [
            e.seq,
            e.at,
            e.actor,
            e.action,
            nameOf(e.details),
            `${e.entityType}/${e.entityId}`,
          ]),
        ),
      );
    });

  const users = program.command('users');
  users.command('ls', { isDefault: true }).action(async () => {
    const c = ctx();
    const list = await (await c.api()).users.list();
    if (c.json) return c.output.out(JSON.stringify({ users: list }, null, 2));
    c.output.out(
      table(
        ['ID', 'NAME', 'ROLE', 'CREATED', 'DISABLED'],
        list.map((u) => [u.id, u.name, u.role, u.createdAt, u.disabledAt]),
      ),
    );
  });
  users
    .command('create <name>')
    .requiredOption('--role <role>', 'viewer | editor | approver | admin')
    .action(async (name: string, o: { role: string }) => {
      const c = ctx();
      const u = await (await c.api()).users.create({ name, role: parseRole(o.role) });
      c.output.out(c.json ? JSON.stringify(u) : `created user ${u.name} (${u.role}), id ${u.id}`);
    });
  users.command('set-role <user> <role>').action(async (user: string, role: string) => {
    const c = ctx();
    const u = await (await c.api()).users.update(user, { role: parseRole(role) });
    c.output.out(c.json ? JSON.stringify(u) : `${u.name} is now ${u.role}`);
  });
  users.command('disable <user>').action(async (user: string) => {
    const c = ctx();
    const u = await (await c.api()).users.update(user, { disabled: true });
    c.output.out(c.json ? JSON.stringify(u) : `disabled ${u.name}; their tokens no longer work`);
  });

  const tokens = program.command('tokens');
  tokens
    .command('ls', { isDefault: true })
    .option('--user <user>')
    .action(async (o: { user?: string }) => {
      const c = ctx();
      const list = await (await c.api()).tokens.list(o.user);
      if (c.json) return c.output.out(JSON.stringify({ tokens: list }, null, 2));
      c.output.out(
        table(
          ['ID', 'USER', 'NAME', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED', 'MINTED'],
          list.map((t) => [
            t.id,
            t.userId,
            t.name,
            t.createdAt,
            t.expiresAt,
            t.lastUsedAt,
            t.revokedAt,
            t.mintedUnder,
          ]),
        ),
      );
    });
  tokens
    .command('create')
    .requiredOption('--user <user>', 'the user the token acts as')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--expires-in-days <n>', 'expiry')
    .action(async (o: { user: string; name: string; expiresInDays?: string }) => {
      const c = ctx();
      const created = await (await c.api()).tokens.create({
        user: o.user,
        name: o.name,
        ...(o.expiresInDays ? { expiresInDays: Number(o.expiresInDays) } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(created));
      c.output.out(`${created.secret}\n`);
      c.output.err(
        `token ${created.token.id} for ${o.user}: copy the secret above now, it is not shown again`,
      );
    });
  tokens
    .command('reissue <id>')
    .description('revoke a token and mint its replacement (tokens minted while auth was off need this)')
    .action(async (id: string) => {
      const c = ctx();
      const created = await (await c.api()).tokens.reissue(id);
      if (c.json) return c.output.out(JSON.stringify(created));
      c.output.out(`${created.secret}\n`);
      c.output.err(
        `token ${created.token.id} replaces ${id} (now revoked): copy the secret above now, it is not shown again`,
      );
    });
  tokens.command('revoke <id>').action(async (id: string) => {
    const c = ctx();
    const t = await (await c.api()).tokens.revoke(id);
    c.output.out(c.json ? JSON.stringify(t) : `revoked ${t.id}`);
  });
}
