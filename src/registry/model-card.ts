import type { AliasService } from './alias.service.js';
import type { ModelService } from './model.service.js';
import type { PromotionService } from './promotion.service.js';
import type { CardField, ModelCard, ModelVersion } from './registry.schema.js';
import type { RegistryDeps } from './registry-deps.js';

/*
 * Model cards, generated from the registry (version, signature, aliases, approvals), the run
 * (params, metrics, code, environment) and the data (training dataset versions and their source),
 * plus the fields people edit (intended use, limitations ...). One structure renders to both formats.
 */

type Block =
  | { kind: 'text'; text: string }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'list'; items: string[] };
interface Section {
  title: string;
  blocks: Block[];
}

const TITLES: Record<CardField, string> = {
  intended_use: 'Intended use',
  out_of_scope_use: 'Out-of-scope use',
  limitations: 'Limitations',
  ethical_considerations: 'Ethical considerations',
  caveats: 'Caveats and recommendations',
  owners: 'Owners',
  protected_attributes: 'Protected attributes',
};

const missing = (field: CardField) => ({
  kind: 'text' as const,
  text: `_Not documented yet_ (set it with \`sextant models card <model>@<version> --set ${field}=...\`).`,
});

export function createModelCards(
  deps: RegistryDeps,
  models: ModelService,
  aliases: AliasService,
  promotions: PromotionService,
) {
  async function sections(v: ModelVersion): Promise<Section[]> {
    const editable = (f: CardField): Section => ({
      title: TITLES[f],
      blocks: [v.card[f] ? { kind: 'text', text: v.card[f]! } : missing(f)],
    });
    const details: string[][] = [
      ['Model', v.model],
      ['Version', String(v.version)],
      ['Aliases', v.aliases.join(', ') || '-'],
      ['Format', v.format],
      ['Content sha256', v.sha256],
      ['Size (bytes)', String(v.size)],
      ['Registered', `${v.createdAt} by ${v.createdBy}`],
      ['Source', v.source],
      ['Run', v.runId ? `${v.runId} (by ${v.runAuthor ?? '?'})` : '-'],
      ['Code commit', v.codeCommit ?? '-'],
      ['Command', v.command ?? '-'],
      [
        'Environment',
        `${[
          v.environment.node,
          v.environment.os,
          v.environment.lockfileSha256 && `lockfile ${v.environment.lockfileSha256.slice(0, 12)}`,
        ]
          .filter(Boolean)
          .join(', ')} (from ${v.environment.source})`,
      ],
    ];
    const out: Section[] = [
      {
        title: 'Model details',
        blocks: [
          ...(v.description ? [{ kind: 'text' as const, text: v.description }] : []),
          { kind: 'table', head: ['Field', 'Value'], rows: details },
        ],
      },
      editable('intended_use'),
      editable('out_of_scope_use'),
    ];

    const data: string[][] = [];
    for (const id of v.datasetVersionIds) {
      const dv = await deps.datasetVersions.get(id).catch(() => undefined);
      data.push(
        dv
          ? [
              `${dv.dataset}@${dv.number}`,
              dv.digest.slice(0, 16),
              dv.source ?? '_unknown_',
              dv.license ?? '-',
            ]
          : [id, '-', '_not readable_', '-'],
      );
    }
    out.push({
      title: 'Training data',
      blocks: data.length
        ? [{ kind: 'table', head: ['Dataset version', 'Digest', 'Source', 'License'], rows: data }]
        : [{ kind: 'text', text: '_No training dataset versions are recorded for this version._' }],
    });
    const metrics = Object.entries(v.metrics).sort(([a], [b]) => a.localeCompare(b));
    out.push({
      title: 'Metrics',
      blocks: metrics.length
        ? [{ kind: 'table', head: ['Metric', 'Value'], rows: metrics.map(([k, x]) => [k, String(x)]) }]
        : [{ kind: 'text', text: '_No metrics recorded._' }],
    });
    const params = Object.entries(v.params).sort(([a], [b]) => a.localeCompare(b));
    if (params.length)
      out.push({
        title: 'Training parameters',
        blocks: [{ kind: 'table', head: ['Param', 'Value'], rows: params }],
      });
    if (v.signature) {
      const io = [
        ...v.signature.inputs.map((t) => ['input', t.name, t.type, JSON.stringify(t.shape ?? [])]),
        ...v.signature.outputs.map((t) => ['output', t.name, t.type, JSON.stringify(t.shape ?? [])]),
      ];
      out.push({
        title: 'Signature',
        blocks: [{ kind: 'table', head: ['Direction', 'Name', 'Type', 'Shape'], rows: io }],
      });
    }

    const history = (await aliases.history({ model: v.model })).filter(
      (e) => e.toVersion === v.version || e.fromVersion === v.version,
    );
    const requests = (await promotions.list({ model: v.model, limit: 1000 })).filter(
      (r) => r.version === v.version,
    );
    const approvals: string[] = [];
    for (const r of requests) {
      const who = r.decisions
        .map((d) => `${d.decision} by ${d.actor} (${d.role})${d.comment ? `: "${d.comment}"` : ''}`)
        .join('; ');
      approvals.push(
        `${r.kind} to '${r.alias}' requested by ${r.requestedBy} on ${r.createdAt}: ${r.status}${who ? ` - ${who}` : ''}`,
      );
    }
    for (const e of history) {
      approvals.push(
        `${e.at}: '${e.alias}' ${e.fromVersion ?? '-'} -> ${e.toVersion ?? '-'} (${e.kind}${e.emergency ? ', emergency' : ''}) by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`,
      );
    }
    out.push({
      title: 'Approvals and alias history',
      blocks: [
        approvals.length ? { kind: 'list', items: approvals } : { kind: 'text', text: '_Never promoted._' },
      ],
    });
    out.push(
      editable('limitations'),
      editable('ethical_considerations'),
      editable('protected_attributes'),
      editable('caveats'),
      editable('owners'),
    );
    return out;
  }

  /** The card of a version as Markdown or HTML. */
  async function render(ref: string, format: 'markdown' | 'html'): Promise<ModelCard> {
    const v = await models.getVersion(ref);
    const s = await sections(v);
    const title = `Model card: ${v.model} version ${v.version}`;
    return {
      model: v.model,
      version: v.version,
      format,
      content: format === 'html' ? toHtml(title, s) : toMarkdown(title, s),
      fields: v.card,
    };
  }

  return { render };
}

/**
 * Text in Markdown keeps no raw HTML: most Markdown renderers pass HTML through, so a card field, a
 * description or a reviewer's comment holding `<script>` or `<img onerror>` would run wherever the card
 * is shown. `<`, `>` and `&` become entities (shown as themselves), and `[` `]` are escaped so no text
 * forms a link or an image (`[x](javascript:...)`). The card's own `_emphasis_` and `code` marks stay.
 */
const mdText = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([[\]])/g, '\\$1');
const mdCell = (s: string) => mdText(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function toMarkdown(title: string, sections: Section[]): string {
  const out = [`# ${mdText(title)}`, ''];
  for (const s of sections) {
    out.push(`## ${mdText(s.title)}`, '');
    for (const b of s.blocks) {
      if (b.kind === 'text') out.push(mdText(b.text), '');
      else if (b.kind === 'list') out.push(...b.items.map((i) => `- ${mdText(i).replace(/\n/g, ' ')}`), '');
      else
        out.push(
          `| ${b.head.map(mdCell).join(' | ')} |`,
          `|${b.head.map(() => ' --- ').join('|')}|`,
          ...b.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
          '',
        );
    }
  }
  return out.join('\n');
}

const esc = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
/** Text is escaped first; only the card's own `_emphasis_` and `code` marks become tags. */
const inline = (s: string) =>
  esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/(^|\s)_([^_]+)_(?=\s|$|[.,;:)])/g, '$1<em>$2</em>');

function toHtml(title: string, sections: Section[]): string {
  const body: string[] = [`<h1>${esc(title)}</h1>`];
  for (const s of sections) {
    body.push(`<h2>${esc(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === 'text') body.push(...b.text.split(/\n{2,}/).map((p) => `<p>${inline(p)}</p>`));
      else if (b.kind === 'list')
        body.push(`<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`);
      else
        body.push(
          `<table><thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${b.rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
        );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style>
</head><body>
${body.join('\n')}
</body></html>
`;
}

export type ModelCards = ReturnType<typeof createModelCards>;
