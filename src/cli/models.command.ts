import fs from 'node:fs';
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import type { AliasEvent, ModelVersion, PromotionRequest } from '../registry/registry.schema.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { registerEndpointCommand } from './models-endpoint.command.js';
import { LIST_MAX, limitOption, positiveInt } from './options.js';
import { details, formatNumber, painter, parsePairs, table } from './output.js';

type Ctx = () => CliContext;

/** The registering machine's environment; the lockfile hash when run from a project folder. */
function clientEnvironment() {
  const lock = ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock'].find((f) => fs.existsSync(f));
  return {
    node: process.version,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    ...(lock ? { lockfileSha256: sha256Hex(fs.readFileSync(lock)) } : {}),
  };
}

/** One version; `runName` is shown beside the run id when known (people know runs by name). */
const versionLine = (v: ModelVersion, runName?: string) =>
  details([
    ['model', v.model],
    ['version', v.version],
    ['aliases', v.aliases.join(', ') || null],
    ['format', v.format],
    ['sha256', v.sha256],
    ['size', v.size],
    ['source', v.source],
    ['run', v.runId ? `${v.runId} (${runName ? `${runName}, ` : ''}by ${v.runAuthor})` : null],
    ['datasets', v.datasetVersionIds.join(', ') || null],
    ['code commit', v.codeCommit],
    ['command', v.command],
    [
      'environment',
      `${[v.environment.node, v.environment.os].filter(Boolean).join(', ')} (from ${v.environment.source})`,
    ],
    [
      'inputs',
      v.signature?.inputs
        .map((i) => `${i.name}:${i.type}${i.shape ? `[${i.shape.join(',')}]` : ''}`)
        .join(' ') ?? null,
    ],
    ['outputs', v.signature?.outputs.map((i) => `${i.name}:${i.type}`).join(' ') ?? null],
    [
      'metrics',
      Object.entries(v.metrics)
        .map(([k, x]) => `${k}=${formatNumber(x)}`)
        .join(' ') || null,
    ],
    ['registered', `${v.createdAt} by ${v.createdBy}`],
  ]);

const requestLine = (r: PromotionRequest, paint: (word: string) => string = (w) => w) => {
  const gates = [...(r.executionGates ?? r.openGates)];
  return [
    details([
      ['request', r.id],
      ['what', `${r.kind} ${r.model}@${r.version} to '${r.alias}' (holder then: ${r.fromVersion ?? 'none'})`],
      ['status', paint(r.status)],
      ['requested', `${r.createdAt} by ${r.requestedBy}${r.reason ? `: ${r.reason}` : ''}`],
      ['approvals', `${r.decisions.filter((d) => d.decision === 'approve').length}/${r.approvalsNeeded}`],
      ['expires', r.expiresAt],
    ]),
    ...(r.decisions.length
      ? [
          table(
            ['DECISION', 'BY', 'ROLE', 'AT', 'COMMENT'],
            r.decisions.map((d) => [d.decision, d.actor, d.role, d.at, d.comment]),
          ),
        ]
      : []),
    ...(gates.length
      ? [
          table(
            ['GATE', 'RESULT', 'WHY'],
            gates.map((g) => [g.gate, paint(g.status.toUpperCase()), g.message]),
          ),
        ]
      : []),
  ].join('\n\n');
};

/** A request its policy's gates hold back ends the command with the blocked-by-policy exit code. */
function failIfBlocked(r: PromotionRequest): void {
  if (r.status !== 'blocked') return;
  const failing = (r.executionGates ?? r.openGates).filter((g) => g.status !== 'pass');
  throw new CliOutcome(
    'BLOCKED_BY_POLICY',
    `moving ${r.model}@${r.alias} to version ${r.version} is blocked by policy: ${failing.map((g) => `${g.gate}: ${g.message}`).join('; ') || 'a gate did not pass'}`,
    { request: r.id },
  );
}

/**
 * Alias moves with who asked for each (the requester of its promotion request, else whoever moved it
 * directly) and who approved it: the one who executed a request is one of its approvers, not its author.
 */
const eventRows = (events: AliasEvent[], requesters: Map<string, string>) =>
  table(
    ['AT', 'ALIAS', 'FROM', 'TO', 'KIND', 'REQUESTED BY', 'APPROVED BY', 'WHY'],
    events.map((e) => [
      e.at,
      e.alias,
      e.fromVersion ?? '-',
      e.toVersion ?? '-',
      e.emergency ? `${e.kind} (emergency)` : e.kind,
      (e.requestId ? requesters.get(e.requestId) : undefined) ?? e.actor,
      e.approvals.map((a) => a.actor).join(', ') || '-',
      e.reason,
    ]),
  );

/** `sextant models ...`: the model registry. Returns the group so other files can add subcommands. */
export function registerModelsCommands(program: Command, ctx: Ctx): Command {
  const cmd = program.command('models');
  const print = (value: unknown, text: () => string) => {
    const c = ctx();
    c.output.out(c.json ? JSON.stringify(value, null, 2) : text());
  };
  const api = async () => (await ctx().api()).models;

  cmd
    .command('ls', { isDefault: true })
    .description('list registered models')
    .option('-q, --query <text>', 'names containing this')
    .addOption(limitOption(100))
    .action(async (o: { query?: string; limit: string }) => {
      const page = await (await api()).list({
        ...(o.query ? { q: o.query } : {}),
        maxResults: positiveInt(o.limit, '--limit', LIST_MAX),
      });
      print(page, () =>
        table(
          ['MODEL', 'LATEST', 'ALIASES', 'UPDATED'],
          page.models.map((m) => [
            m.name,
            m.latestVersion,
            m.aliases.map((a) => `${a.alias}=${a.version}`).join(' '),
            m.updatedAt,
          ]),
        ),
      );
    });
  cmd
    .command('create <name>')
    .description('create a registered model')
    .option('-d, --description <text>')
    .action(async (name: string, o: { description?: string }) => {
      const m = await (await api()).create({
        name,
        ...(o.description ? { description: o.description } : {}),
      });
      print(m, () => `created model '${m.name}'`);
    });
  cmd
    .command('register <name>')
    .description('register a version from a run artifact (--run, --path) or a model file (--file)')
    .option('--run <run-id>', 'the run whose artifact to register')
    .option(
      '--path <artifact>',
      'artifact file or folder in the run (folder: model.onnx + signature.json)',
      'model',
    )
    .option('--file <model-file>', 'a model file (e.g. model.onnx) instead of a run artifact')
    .option(
      '--features <a,b,...>',
      "with --file: the names of the columns of the model's single float tensor input, in order",
    )
    .option('-d, --description <text>')
    .action(
      async (
        name: string,
        o: { run?: string; path: string; file?: string; description?: string; features?: string },
      ) => {
        if (Boolean(o.run) === Boolean(o.file)) {
          throw new ValidationError('--run or --file: give exactly one of them', { field: '--run' });
        }
        if (o.features !== undefined && !o.file) {
          throw new ValidationError(
            '--features: only with --file (a run names its features in signature.json)',
            {
              field: '--features',
            },
          );
        }
        const models = await api();
        const desc = o.description ? { description: o.description } : {};
        let v: ModelVersion;
        if (o.file) {
          if (!fs.existsSync(o.file) || !fs.statSync(o.file).isFile()) {
            throw new ValidationError(`--file: '${o.file}' is not a readable file`, { field: '--file' });
          }
          const filename = o.file.split(/[\\/]/).pop() ?? 'model';
          v = await models.registerFile(name, {
            filename,
            content: fs.createReadStream(o.file),
            ...desc,
            ...(o.features !== undefined ? { features: o.features } : {}),
          });
        } else {
          v = await models.register(name, {
            runId: o.run!,
            path: o.path,
            environment: clientEnvironment(),
            ...desc,
          });
        }
        print(v, () => `registered ${v.model}@${v.version} (${v.format}, sha256 ${v.sha256.slice(0, 12)})`);
      },
    );
  registerEndpointCommand(cmd, ctx);
  cmd
    .command('show <model-or-ref>')
    .description('a model with its versions, or one version (<model>@<n|alias|latest>)')
    .action(async (ref: string) => {
      const models = await api();
      if (ref.includes('@')) {
        const v = await models.version(ref);
        const run =
          v.runId && !ctx().json
            ? await (await ctx().api()).runs.get(v.runId).catch(() => undefined)
            : undefined;
        return print(v, () => versionLine(v, run?.name));
      }
      const m = await models.get(ref);
      const { versions } = await models.versions(ref);
      print({ ...m, versions }, () =>
        [
          details([
            ['model', m.name],
            ['description', m.description],
            ['aliases', m.aliases.map((a) => `${a.alias}=${a.version}`).join(' ') || null],
            ['created', `${m.createdAt} by ${m.createdBy}`],
          ]),
          table(
            ['VERSION', 'FORMAT', 'ALIASES', 'RUN', 'SHA256', 'REGISTERED'],
            versions.map((v) => [
              v.version,
              v.format,
              v.aliases.join(' '),
              v.runId,
              v.sha256.slice(0, 12),
              v.createdAt,
            ]),
          ),
        ].join('\n\n'),
      );
    });
  cmd
    .command('delete <model-or-ref>')
    .description('soft-delete a model, or one version (<model>@<n>)')
    .action(async (ref: string) => {
      const models = await api();
      const at = ref.lastIndexOf('@');
      if (at > 0) await models.deleteVersion(ref.slice(0, at), Number(ref.slice(at + 1)));
      else await models.delete(ref);
      print({ ok: true }, () => `deleted ${ref}`);
    });
  cmd
    .command('set-alias <ref> <alias>')
    .description('point an unprotected alias (e.g. challenger) at a version; protected ones need `promote`')
    .option('--reason <text>')
    .action(async (ref: string, alias: string, o: { reason?: string }) => {
      const models = await api();
      const v = await models.version(ref);
      const e = await models.setAlias(v.model, alias, v.version, o.reason);
      print(e, () => `${e.model}@${e.alias}: ${e.fromVersion ?? '-'} -> ${e.toVersion}`);
    });
  cmd
    .command('delete-alias <model> <alias>')
    .description('remove an unprotected alias')
    .action(async (model: string, alias: string) => {
      const e = await (await api()).deleteAlias(model, alias);
      print(e, () => `${e.model}@${e.alias} removed (was ${e.fromVersion})`);
    });
  cmd
    .command('promote <ref>')
    .description('open a promotion request: move --alias to this version once approved and its gates pass')
    .requiredOption('--alias <alias>', 'e.g. champion')
    .option('--reason <text>')
    .action(async (ref: string, o: { alias: string; reason?: string }) => {
      const r = await (await api()).promote({
        ref,
        alias: o.alias,
        ...(o.reason ? { reason: o.reason } : {}),
      });
      print(r, () => requestLine(r, painter(ctx().output)));
      failIfBlocked(r);
    });
  cmd
    .command('requests')
    .description('list promotion requests')
    .option('--model <name>')
    .option('--status <status>', 'pending, blocked, rejected, executed, expired, cancelled')
    .action(async (o: { model?: string; status?: PromotionRequest['status'] }) => {
      const list = await (await api()).requests({
        ...(o.model ? { model: o.model } : {}),
        ...(o.status ? { status: o.status } : {}),
      });
      print(list, () =>
        table(
          ['REQUEST', 'KIND', 'VERSION', 'ALIAS', 'STATUS', 'BY', 'OPENED'],
          list.map((r) => [
            r.id,
            r.kind,
            `${r.model}@${r.version}`,
            r.alias,
            r.status,
            r.requestedBy,
            r.createdAt,
          ]),
        ),
      );
    });
  cmd
    .command('request <id>')
    .description('a promotion request with its decisions and gate results')
    .action(async (id: string) => {
      const r = await (await api()).request(id);
      print(r, () => requestLine(r, painter(ctx().output)));
    });
  for (const decision of ['approve', 'reject'] as const) {
    cmd
      .command(`${decision} <request>`)
      .description(
        decision === 'approve' ? 'approve a request (enough approvals execute it)' : 'reject a request',
      )
      .option('-m, --comment <text>')
      .action(async (id: string, o: { comment?: string }) => {
        const models = await api();
        const r =
          decision === 'approve'
            ? await models.approve(id, o.comment)
            : await models.reject(id, o.comment ?? '');
        print(r, () => requestLine(r, painter(ctx().output)));
        failIfBlocked(r);
      });
  }
  cmd
    .command('cancel <request>')
    .description('withdraw your pending request')
    .action(async (id: string) => {
      const r = await (await api()).cancel(id);
      print(r, () => requestLine(r, painter(ctx().output)));
    });
  cmd
    .command('rollback <model>')
    .description(
      'move an alias back to its previous holder (an admin at once if the policy allows; else a request)',
    )
    .option('--alias <alias>', 'the alias to roll back', 'champion')
    .option('--reason <text>')
    .action(async (model: string, o: { alias: string; reason?: string }) => {
      const res = await (await api()).rollback(model, {
        alias: o.alias,
        ...(o.reason ? { reason: o.reason } : {}),
      });
      print(res, () =>
        res.outcome === 'rolled_back'
          ? `rolled back ${res.event.model}@${res.event.alias}: ${res.event.fromVersion} -> ${res.event.toVersion}`
          : `rollback needs approval: request ${res.request.id} (${res.request.status})\n\n${requestLine(res.request, painter(ctx().output))}`,
      );
      if (res.outcome !== 'rolled_back') failIfBlocked(res.request);
    });
  cmd
    .command('history <model>')
    .description('every alias move; --at answers "which version held it at that time"')
    .option('--alias <alias>')
    .option('--at <iso-time>', 'e.g. 2026-03-01T12:00:00Z')
    .action(async (model: string, o: { alias?: string; at?: string }) => {
      const models = await api();
      const h = await models.history(model, {
        ...(o.alias ? { alias: o.alias } : {}),
        ...(o.at ? { at: o.at } : {}),
      });
      const requestIds = [...new Set(h.events.flatMap((e) => (e.requestId ? [e.requestId] : [])))];
      const requesters = new Map(
        ctx().json || o.at
          ? []
          : await Promise.all(
              requestIds.map(async (id) => [id, (await models.request(id)).requestedBy] as const),
            ),
      );
      print(o.at ? h.at : h, () =>
        o.at
          ? table(
              ['ALIAS', 'AT', 'VERSION', 'SINCE', 'BY'],
              (h.at ?? []).map((a) => [a.alias, a.at, a.version ?? '(none)', a.since?.at, a.since?.actor]),
            )
          : eventRows(h.events, requesters),
      );
    });
  cmd
    .command('card <ref>')
    .description('the model card (Markdown, or --html); --set field=value edits a field first')
    .option('--html', 'HTML instead of Markdown')
    .option(
      '--set <field=value...>',
      'intended_use, out_of_scope_use, limitations, ethical_considerations, caveats, owners, protected_attributes (comma-separated columns: the compliance report evaluates per group of each)',
    )
    .option('-o, --out <file>', 'write the card to a file')
    .action(async (ref: string, o: { html?: boolean; set?: string[]; out?: string }) => {
      const models = await api();
      if (o.set?.length) {
        const v = await models.version(ref);
        await models.updateVersion(v.model, v.version, { card: parsePairs(o.set, '--set') });
      }
      const card = await models.card(ref, o.html ? 'html' : 'markdown');
      if (o.out) {
        fs.writeFileSync(o.out, card.content);
        return print({ ...card, content: undefined, out: o.out }, () => `wrote ${o.out}`);
      }
      print(card, () => card.content);
    });
  cmd
    .command('download <ref>')
    .description("write a version's model file")
    .requiredOption('-o, --out <file>')
    .action(async (ref: string, o: { out: string }) => {
      await pipeline(await (await api()).download(ref), fs.createWriteStream(o.out));
      print({ out: o.out }, () => `wrote ${o.out}`);
    });

  const policy = cmd.command('policy').description('promotion policies (YAML), per model or the default');
  policy
    .command('show [model]')
    .description("a model's effective policy, or the default")
    .action(async (model?: string) => {
      const p = await (await api()).policy(model);
      print(
        p,
        () =>
          `# ${p.source} policy${p.updatedBy ? `, set by ${p.updatedBy} at ${p.updatedAt}` : ''}\n${p.yaml}`,
      );
    });
  policy
    .command('set [args...]')
    .description('store a policy: `policy set <model> policy.yaml` or `policy set --default policy.yaml`')
    .option('--default', 'the default policy for models without their own')
    .action(async (args: string[], o: { default?: boolean }) => {
      const [model, file] = o.default ? [undefined, args[0]] : [args[0], args[1]];
      if (!file || args.length !== (o.default ? 1 : 2)) {
        throw new ValidationError('policy set: expected <model> <file.yaml> or --default <file.yaml>', {
          field: 'file',
        });
      }
      if (!fs.existsSync(file))
        throw new ValidationError(`file: '${file}' does not exist`, { field: 'file' });
      const p = await (await api()).setPolicy(model, fs.readFileSync(file, 'utf8'));
      print(p, () => `stored the ${model ? `policy of '${model}'` : 'default policy'}`);
    });
  return cmd;
}
