import fs from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { renderComplianceHtml } from '../governance/compliance/compliance-html.js';
import { attributeList } from '../governance/compliance/compliance-report.schema.js';
import { isoTimeSchema } from '../registry/registry.schema.js';
import type { CliContext } from './context.js';
import { positiveInt } from './options.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

/** `<model>@<n|alias|latest>` split at its '@' (model names cannot hold one). */
function splitRef(ref: string): { model: string; ref: string } {
  const at = ref.indexOf('@');
  if (at <= 0 || at === ref.length - 1)
    throw new ValidationError(`model: expected <model>@<version or alias>, got '${ref}'`, { field: 'model' });
  return { model: ref.slice(0, at), ref: ref.slice(at + 1) };
}

function timeOption(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const parsed = isoTimeSchema.safeParse(value);
  if (!parsed.success)
    throw new ValidationError(
      `${flag}: expected an ISO-8601 time such as 2026-03-01T12:00Z, got '${value}'`,
      {
        field: flag,
      },
    );
  return value;
}

/** `sextant report compliance`: the auditor's document of a model version, as HTML or PDF. */
export function registerReportCommands(program: Command, ctx: Ctx): void {
  const report = program.command('report').description('documents to hand over: the compliance report');
  report
    .command('compliance <model@ref>')
    .description(
      'one self-contained document of a model version for an auditor: purpose and card, training data, run and reproducibility, evaluation and fairness, approvals, time in production, explained predictions, audit chain verdict and head digest',
    )
    .option('--html <file>', 'write it as one HTML file (inline CSS, no scripts, opens offline)')
    .option(
      '--pdf <file>',
      'write it as PDF, printed by headless chromium (SEXTANT_CHROMIUM names the binary)',
    )
    .option(
      '--from <time>',
      'production period from this ISO time (default: when the version was registered)',
    )
    .option('--to <time>', 'production period up to this ISO time (default: now)')
    .option('--samples <n>', 'predictions to trace and explain', '5')
    .option('--reproduce', 're-train it now and check the bytes match (slow) before writing the report')
    .option(
      '--slices <a,b,...>',
      "attributes to evaluate per slice and fairness per group (default: the card's protected_attributes)",
    )
    .option(
      '--holdout <dataset@v>',
      "evaluate on this dataset version instead of the training run's validation split",
    )
    .action(
      async (
        target: string,
        o: {
          html?: string;
          pdf?: string;
          from?: string;
          to?: string;
          samples: string;
          reproduce?: boolean;
          slices?: string;
          holdout?: string;
        },
      ) => {
        const c = ctx();
        if (!o.html === !o.pdf)
          throw new ValidationError('give exactly one of --html <file> or --pdf <file>', { field: '--html' });
        const { model, ref } = splitRef(target);
        const from = timeOption(o.from, '--from');
        const to = timeOption(o.to, '--to');
        const samples = positiveInt(o.samples, '--samples');
        const slices = o.slices === undefined ? undefined : attributeList(o.slices);
        if (slices?.length === 0)
          throw new ValidationError('--slices: name at least one column, e.g. --slices sex,age_band', {
            field: '--slices',
          });
        if (o.holdout !== undefined && !/^[^@\s]+@[^@\s]+$/.test(o.holdout))
          throw new ValidationError(`--holdout: expected <dataset>@<version>, got '${o.holdout}'`, {
            field: '--holdout',
          });
        const api = await c.api();
        let reproduced: boolean | undefined;
        if (o.reproduce) {
          const { reproduceNow } = await import('./reproduce.command.js');
          reproduced = (await reproduceNow(ctx, { modelRef: target })).reproduced;
        }
        const progress = progressLine(c);
        progress.step('gathering', `the evidence for ${target}`);
        const data = await api.compliance
          .report({
            model,
            ref,
            ...(from ? { from } : {}),
            ...(to ? { to } : {}),
            samples,
            ...(o.reproduce ? { reproducedNow: true } : {}),
            ...(slices ? { slices } : {}),
            ...(o.holdout ? { holdout: o.holdout } : {}),
          })
          .catch((err: unknown) => {
            progress.end();
            throw err;
          });
        // Rendered here from the data, over either transport: a PDF never needs chromium on the server.
        const html = renderComplianceHtml(data);
        const file = (o.html ?? o.pdf)!;
        let bytes: number;
        if (o.pdf) {
          const { htmlToPdf } = await import('./pdf.js');
          progress.step('rendering', `${file} in chromium`);
          const pdf = await htmlToPdf(html, c.config.chromiumPath).finally(() => progress.end());
          fs.writeFileSync(file, pdf);
          bytes = pdf.length;
        } else {
          progress.end();
          fs.writeFileSync(file, html);
          bytes = Buffer.byteLength(html);
        }
        const summary = {
          file,
          format: o.pdf ? 'pdf' : 'html',
          bytes,
          model: data.model.ref,
          auditOk: data.audit.ok,
          auditHead: data.audit.head,
          reproduction: data.training.reproduction.status,
          evaluation: data.evaluation.offline.status,
          ...(reproduced !== undefined ? { reproducedNow: reproduced } : {}),
        };
        if (c.json) return c.output.out(JSON.stringify(summary));
        c.output.out(
          [
            `wrote ${file} (${summary.format}, ${bytes} bytes): compliance report of ${data.model.ref}`,
            `audit chain ${data.audit.ok ? 'OK' : 'BROKEN'}, head #${data.audit.head?.seq ?? 0} ${data.audit.head?.hash ?? '-'}`,
            `reproduction: ${data.training.reproduction.status.replace('_', ' ')}`,
            `evaluation: ${data.evaluation.offline.status === 'evaluated' ? `${data.evaluation.offline.data?.rows} rows, ${data.evaluation.offline.slices.length} slice value(s), ${data.evaluation.offline.fairness.length} fairness group(s)` : (data.evaluation.offline.note ?? 'not evaluated')}`,
          ].join('\n'),
        );
      },
    );
}
