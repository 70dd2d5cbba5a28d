import fs from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { parseOrThrow } from '../core/validate.js';
import { costBySchema, type PriceBook, renderCostReportHtml, renderCostReportText } from '../cost/index.js';
import type { CliContext } from './context.js';
import { positiveInt } from './options.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

function readFile(file: string, flag: string): string {
  try {
    return file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`${flag}: cannot read '${file}': ${(err as Error).message}`, { field: flag });
  }
}

function showBook(c: CliContext, book: PriceBook): void {
  if (c.json) {
    c.output.out(JSON.stringify(book, null, 2));
    return;
  }
  c.output.out(
    details([
      ['version', book.version],
      ['currency', book.currency],
      ['set', `${book.createdAt} by ${book.createdBy}`],
    ]),
  );
  c.output.out(
    table(
      ['RESOURCE', 'KEY', 'PRICE', 'FROM', 'TO'],
      book.prices.map((p) => [
        p.resource,
        p.key ?? '',
        String(p.price),
        p.effectiveFrom ?? '-',
        p.effectiveTo ?? '-',
      ]),
    ),
  );
}

/** Groups a text report shows by default. */
/** The most groups one report returns (the server's bound). */
const COST_REPORT_MAX = 1_000_000;
const TEXT_LIMIT = 50;

/** `sextant cost prices set|show`, `sextant cost report`, `sextant cost usage <run>`. */
export function registerCostCommands(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('cost')
    .description('what compute and storage cost: the price book and reports');
  const prices = cmd.command('prices').description('the price book (versioned; each set is a new version)');
  prices
    .command('set')
    .description('validate a price book YAML and make it the one in force (admin)')
    .requiredOption('-f, --file <prices.yaml>', "the price book ('-' reads stdin); see examples/prices.yaml")
    .action(async (o: { file: string }) => {
      const c = ctx();
      const book = await (await c.api()).cost.setPrices({ yaml: readFile(o.file, '--file') });
      if (c.json) return c.output.out(JSON.stringify(book, null, 2));
      c.output.out(`price book v${book.version} in force (${book.prices.length} prices, ${book.currency})`);
    });
  prices
    .command('show', { isDefault: true })
    .description('the price book in force, or a given version')
    .option('--version <n>', 'an earlier version')
    .action(async (o: { version?: string }) => {
      const c = ctx();
      const v = o.version === undefined ? undefined : positiveInt(o.version, '--version');
      showBook(c, await (await c.api()).cost.getPrices(v));
    });
  cmd
    .command('report')
    .description(
      'cost over a range by experiment, model, deployment, run (sweeps and pipelines roll up) or tag:<key>',
    )
    .option('--by <dimension>', 'experiment | model | deployment | run | tag:<key>', 'experiment')
    .option('--from <date>', 'start, inclusive (YYYY-MM-DD or ISO-8601; default 30 days before --to)')
    .option('--to <date>', 'end, exclusive (default now)')
    .option(
      '--compare <period>',
      "'auto' (the period just before) or '<from>..<to>': ranks what drove the change",
    )
    .option(
      '--causes',
      'rank the causes of the change (sweeps, deployments, experiments), each with its reason; implies --compare auto',
    )
    .option('--html <out.html>', 'also write a self-contained HTML page with charts')
    .option(
      '--limit <n>',
      `top N groups; the rest on one "(N more)" line (text default ${TEXT_LIMIT}; --json and --html: all)`,
    )
    .action(
      async (o: {
        by: string;
        from?: string;
        to?: string;
        compare?: string;
        causes?: boolean;
        html?: string;
        limit?: string;
      }) => {
        const c = ctx();
        const by = parseOrThrow(costBySchema, o.by, '--by');
        // A table people read needs its top rows, not 90,000 lines; JSON and the page get all unless asked.
        const asked = o.limit === undefined ? undefined : positiveInt(o.limit, '--limit', COST_REPORT_MAX);
        // The page gets every group; the text shown beside it is still cut when it is rendered.
        const limit = asked ?? (c.json || o.html ? undefined : TEXT_LIMIT);
        const report = await (await c.api()).cost.report({
          by,
          ...(limit !== undefined ? { limit } : {}),
          ...(o.from ? { from: o.from } : {}),
          ...(o.to ? { to: o.to } : {}),
          ...(o.compare ? { compare: o.compare } : {}),
          ...(o.causes ? { causes: true } : {}),
        });
        if (o.html) {
          fs.writeFileSync(o.html, renderCostReportHtml(report));
          c.output.err(`wrote ${o.html}`);
        }
        c.output.out(
          c.json
            ? JSON.stringify(report, null, 2)
            : renderCostReportText(report, { limit: asked ?? TEXT_LIMIT }),
        );
      },
    );
  cmd
    .command('usage <run>')
    .description('what the meters recorded for a run: wall, CPU, memory, GPU, and why a figure is missing')
    .action(async (runId: string) => {
      const c = ctx();
      const records = await (await c.api()).cost.usageOfRun(runId);
      if (c.json) return c.output.out(JSON.stringify(records, null, 2));
      c.output.out(
        table(
          ['ID', 'KIND', 'STARTED', 'WALL S', 'CPU S', 'PEAK MIB', 'GPU S', 'NOTES'],
          records.map((r) => [
            r.id,
            r.kind,
            r.startedAt,
            r.wallSeconds.toFixed(2),
            r.cpuSeconds === null ? '-' : r.cpuSeconds.toFixed(2),
            r.peakMemoryBytes === null ? '-' : (r.peakMemoryBytes / 2 ** 20).toFixed(1),
            r.gpuSeconds === null ? '-' : r.gpuSeconds.toFixed(1),
            r.notes.join('; '),
          ]),
        ),
      );
    });
}
