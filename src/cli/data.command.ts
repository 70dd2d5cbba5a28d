import path from 'node:path';
import type { Command } from 'commander';
import {
  addPath,
  type DatasetDiff,
  type DatasetVersion,
  HashCache,
  ManifestCache,
  statusOfPath,
} from '../data/index.js';
import { formatBytes } from '../data/workspace/progress.js';
import type { CliContext } from './context.js';
import { parseNullValues } from './options.js';
import { details, formatNumber, table } from './output.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

// Without a server, every file the hash cache does not know is hashed while it is copied into the store:
// each byte is read once, and content already stored is found before anything of it is written.
const HASH_WHILE_STORING_ABOVE = 0;

const short = (digest: string) => digest.slice(0, 12);

function describeVersion(v: DatasetVersion): string {
  const size = v.files.reduce((n, f) => n + f.size, 0);
  return `${v.dataset}@${v.number} (digest ${short(v.digest)}, ${v.files.length} file${v.files.length === 1 ? '' : 's'}, ${formatBytes(size)}${v.tables.length ? `, ${v.tables.length} table${v.tables.length === 1 ? '' : 's'}` : ''})`;
}

/** `parents` are shown as refs (`raw@3`) when known, else as the version ids the API returns. */
function renderVersion(v: DatasetVersion, parents: string[] = v.parents): string {
  const sections = [
    details([
      ['version', `${v.dataset}@${v.number}`],
      ['digest', v.digest],
      ['id', v.id],
      ['created', `${v.createdAt} by ${v.createdBy}`],
      ['source', v.source],
      ['description', v.description],
      ['owner', v.owner],
      ['license', v.license],
      ['pii', v.pii ? 'yes' : 'no'],
      ['parents', parents.length ? parents.join(', ') : null],
      ['produced by run', v.producedByRunId],
      ['tags', v.tags.length ? v.tags.join(', ') : null],
    ]),
    table(
      ['FILE', 'SIZE', 'SHA256'],
      v.files.slice(0, 200).map((f) => [f.path, formatBytes(f.size), short(f.sha256)]),
    ),
  ];
  if (v.files.length > 200) sections.push(`... and ${v.files.length - 200} more files (--json lists all)`);
  for (const t of v.tables) {
    sections.push(
      `table ${t.path} (${t.format}, ${t.rowCount} rows)\n${t.schema.nullValues ? `null values: ${nullList(t.schema.nullValues)}\n` : ''}${(t.profile.notes ?? []).map((n) => `note: ${n}\n`).join('')}${table(
        ['COLUMN', 'TYPE', 'NULLABLE', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN'],
        t.schema.columns.map((col) => {
          const p = t.profile.columns.find((x) => x.name === col.name);
          return [
            col.name,
            col.type,
            col.nullable ? 'yes' : 'no',
            p?.nulls,
            p?.distinct,
            cell(p?.min),
            cell(p?.max),
            p?.mean === undefined ? '' : formatNumber(p.mean),
          ];
        }),
      )}`,
    );
  }
  return sections.join('\n\n');
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'number' ? formatNumber(v) : String(v);
}

function renderDiff(d: DatasetDiff): string {
  const lines = [
    `${d.a.dataset}@${d.a.number} -> ${d.b.dataset}@${d.b.number}: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged`,
  ];
  for (const f of d.added) lines.push(`  + ${f.path} (${formatBytes(f.size)})`);
  for (const f of d.removed) lines.push(`  - ${f.path} (${formatBytes(f.size)})`);
  for (const f of d.changed)
    lines.push(`  ~ ${f.path} (${formatBytes(f.a.size)} -> ${formatBytes(f.b.size)})`);
  for (const t of d.tables) {
    const s = t.diff.schema;
    lines.push(
      '',
      `table ${t.path}: rows ${t.diff.rowCount.a} -> ${t.diff.rowCount.b} (${t.diff.rowCount.change >= 0 ? '+' : ''}${t.diff.rowCount.change})`,
    );
    for (const c of s.added) lines.push(`  + column ${c.name} (${c.type})`);
    for (const c of s.removed) lines.push(`  - column ${c.name} (${c.type})`);
    for (const c of s.typeChanged) lines.push(`  ~ column ${c.name}: ${c.a} -> ${c.b}`);
    for (const c of s.nullabilityChanged) lines.push(`  ~ column ${c.name}: nullable ${c.a} -> ${c.b}`);
    const pair = (a: unknown, b: unknown) => (cell(a) === cell(b) ? cell(a) : `${cell(a)} -> ${cell(b)}`);
    lines.push(
      table(
        ['COLUMN', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'STD', 'P50'],
        t.diff.columns.map((c) => [
          `${c.changed ? '*' : ' '} ${c.name}`,
          pair(c.a.nulls, c.b.nulls),
          pair(c.a.distinct, c.b.distinct),
          pair(c.a.min, c.b.min),
          pair(c.a.max, c.b.max),
          pair(c.a.mean, c.b.mean),
          pair(c.a.std, c.b.std),
          pair(c.a.p50, c.b.p50),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** A null-token list as people read it: each token quoted, the empty cell named. */
function nullList(tokens: string[]): string {
  return tokens.map((t) => (t === '' ? '(empty cell)' : `'${t}'`)).join(', ');
}

interface AddOptions {
  nullValues?: string;
  dataset: string;
  source?: string;
  description?: string;
  owner?: string;
  license?: string;
  pii?: boolean;
  from?: string[];
  run?: string;
  threads?: string;
}

/** `sextant data ...`: dataset versions. Returns the group so other files can add subcommands. */
export function registerDataCommands(program: Command, ctx: Ctx): Command {
  const data = program.command('data');

  data
    .command('add <path>')
    .description('add a file or folder as a new immutable version of a dataset')
    .requiredOption('-d, --dataset <name>', 'dataset name')
    .option('--source <uri>', 'where the data came from')
    .option('--description <text>', 'what the data is')
    .option('--owner <owner>', 'who answers for it')
    .option('--license <license>', 'its licence')
    .option('--pii', 'it holds personal data')
    .option('--from <ref...>', 'parent versions it was derived from, e.g. raw@3')
    .option('--run <run-id>', 'the run that produced it')
    .option(
      '--threads <n>',
      'hashing threads (default: one per core; a local add hashes new files while it stores them)',
    )
    .option(
      '--null-values <list>',
      "CSV cell texts read as null, comma-separated (e.g. 'NA,-,?'): replaces the usual list and is recorded with the version",
    )
    .action(async (target: string, o: AddOptions) => {
      const c = ctx();
      const nullValues = o.nullValues === undefined ? undefined : parseNullValues(o.nullValues);
      const api = await c.api();
      const progress = progressLine(c);
      const result = await addPath(api.data, target, {
        dataset: o.dataset,
        cache: new HashCache(c.config.home),
        manifests: new ManifestCache(c.config.home),
        ...(o.threads ? { threads: Number(o.threads) } : {}),
        ...(c.remoteUrl ? {} : { hashWhileStoringAbove: HASH_WHILE_STORING_ABOVE }),
        ...(o.source ? { source: o.source } : {}),
        ...(o.description ? { description: o.description } : {}),
        ...(o.owner ? { owner: o.owner } : {}),
        ...(o.license ? { license: o.license } : {}),
        pii: Boolean(o.pii),
        parents: o.from ?? [],
        ...(o.run ? { producedByRunId: o.run } : {}),
        ...(nullValues ? { nullValues } : {}),
        onProgress: (phase, done, total) => progress.bytes(phase, done, total),
      }).finally(() => progress.end());
      if (c.json) return c.output.out(JSON.stringify(result, null, 2));
      // How each table was read, when worth knowing (a detected delimiter, a column made text).
      for (const t of result.version.tables)
        for (const note of t.profile.notes ?? []) c.output.err(`note: ${t.path}: ${note}`);
      c.output.out(
        result.created
          ? `added ${describeVersion(result.version)}`
          : `unchanged: the same content is already ${describeVersion(result.version)}; no new version`,
      );
    });

  data
    .command('ls [dataset]')
    .description('list datasets, or the versions of one')
    .action(async (name: string | undefined) => {
      const c = ctx();
      const api = await c.api();
      if (name) {
        const versions = await api.data.listVersions(name);
        if (c.json) return c.output.out(JSON.stringify({ versions }, null, 2));
        return c.output.out(
          table(
            ['VERSION', 'DIGEST', 'CREATED', 'FILES', 'SIZE', 'TAGS'],
            versions.map((v) => [
              `${v.dataset}@${v.number}`,
              short(v.digest),
              v.createdAt,
              v.fileCount,
              formatBytes(v.totalSize),
              v.tags.join(','),
            ]),
          ),
        );
      }
      const datasets = await api.data.listDatasets();
      if (c.json) return c.output.out(JSON.stringify({ datasets }, null, 2));
      c.output.out(
        table(
          ['DATASET', 'VERSIONS', 'LATEST', 'DIGEST', 'UPDATED', 'DESCRIPTION'],
          datasets.map((d) => [
            d.name,
            d.versions,
            d.latest ? `@${d.latest.number}` : '',
            d.latest ? short(d.latest.digest) : '',
            d.latest?.createdAt,
            d.latest?.description,
          ]),
        ),
      );
    });

  data
    .command('show <ref>')
    .description(
      'show a version: metadata, files, tables with schema and profile (ref: name[@n|tag|digest|latest])',
    )
    .action(async (ref: string) => {
      const c = ctx();
      const api = await c.api();
      const v = await api.data.show(ref);
      if (c.json) return c.output.out(JSON.stringify(v, null, 2));
      const summary = v.parents.length
        ? (await api.data.listVersions(v.dataset)).find((s) => s.number === v.number)
        : undefined;
      c.output.out(renderVersion(v, summary?.parents));
    });

  data
    .command('log <dataset>')
    .description('version history of a dataset, newest first, with parents and producing runs')
    .action(async (name: string) => {
      const c = ctx();
      const versions = await (await c.api()).data.listVersions(name);
      if (c.json) return c.output.out(JSON.stringify({ versions }, null, 2));
      c.output.out(
        versions
          .map((v) =>
            [
              `${v.dataset}@${v.number}  ${v.digest}${v.tags.length ? `  (${v.tags.join(', ')})` : ''}`,
              `  created ${v.createdAt} by ${v.createdBy}; ${v.fileCount} files, ${formatBytes(v.totalSize)}`,
              ...(v.parents.length ? [`  from ${v.parents.join(', ')}`] : []),
              ...(v.producedByRunId ? [`  produced by run ${v.producedByRunId}`] : []),
              ...(v.description ? [`  ${v.description}`] : []),
            ].join('\n'),
          )
          .join('\n\n'),
      );
    });

  data
    .command('status <path>')
    .description(
      "what changed in a folder since the dataset's latest version (unchanged files are not re-read)",
    )
    .option('-d, --dataset <name>', 'dataset to compare with (default: the folder name)')
    .option('--threads <n>', 'hashing threads (default: one per core)')
    .action(async (target: string, o: { dataset?: string; threads?: string }) => {
      const c = ctx();
      const api = await c.api();
      const name = o.dataset ?? path.basename(path.resolve(target));
      const progress = progressLine(c);
      const status = await statusOfPath(api.data, name, target, {
        cache: new HashCache(c.config.home),
        manifests: new ManifestCache(c.config.home),
        ...(o.threads ? { threads: Number(o.threads) } : {}),
        onProgress: (d, t) => progress.bytes('hashing', d, t),
      }).finally(() => progress.end());
      if (c.json) return c.output.out(JSON.stringify(status, null, 2));
      const head = status.base
        ? `against ${name}@${status.base.number} (${short(status.base.digest)})`
        : `dataset '${name}' has no version yet: everything is new`;
      const lines = [head];
      for (const p of status.added) lines.push(`  added    ${p}`);
      for (const p of status.changed) lines.push(`  changed  ${p}`);
      for (const p of status.removed) lines.push(`  removed  ${p}`);
      lines.push(
        status.added.length + status.changed.length + status.removed.length === 0
          ? `clean: ${status.unchanged} files unchanged`
          : `${status.added.length} added, ${status.changed.length} changed, ${status.removed.length} removed, ${status.unchanged} unchanged`,
      );
      c.output.out(lines.join('\n'));
    });

  data
    .command('diff <a> <b>')
    .description(
      'files added, removed and changed between two versions; tables: schema, rows, column statistics',
    )
    .action(async (a: string, b: string) => {
      const c = ctx();
      const d = await (await c.api()).data.diff(a, b);
      c.output.out(c.json ? JSON.stringify(d, null, 2) : renderDiff(d));
    });

  data
    .command('get <ref> <dest>')
    .description("download a version's files into a folder, each verified against its sha256")
    .action(async (ref: string, dest: string) => {
      const c = ctx();
      const progress = progressLine(c);
      const v = await (await c.api()).data
        .get(ref, dest, { onProgress: (p) => progress.bytes('fetching', p.done, p.total) })
        .finally(() => progress.end());
      if (c.json) return c.output.out(JSON.stringify(v, null, 2));
      c.output.out(`fetched ${describeVersion(v)} into ${dest}, every file verified`);
    });

  data
    .command('tag <ref> <tag>')
    .description('point a tag at a version (a tag moves when set again; audited)')
    .action(async (ref: string, tag: string) => {
      const c = ctx();
      const v = await (await c.api()).data.tag(ref, tag);
      if (c.json) return c.output.out(JSON.stringify(v, null, 2));
      c.output.out(`${v.dataset}@${tag} -> ${v.dataset}@${v.number} (${short(v.digest)})`);
    });

  return data;
}
