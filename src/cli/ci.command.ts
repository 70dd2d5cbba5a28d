import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { checkModelCandidate, modelReportMarkdown } from '../pipelines/ci/index.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { registryPort } from './ml.command.js';

type Ctx = () => CliContext;

/** `sextant ci <model ref>`: evaluate a candidate against the champion, dry-run the gates, report. */
export function registerCiCommand(program: Command, ctx: Ctx): void {
  program
    .command('ci <target>')
    .description(
      'for CI: a model ref (<model>@<version>) is scored with the champion on --holdout and checked against the policy gates; exits 10 when a gate blocks',
    )
    .option('--holdout <dataset@version>', 'the dataset version both models are scored on (model refs)')
    .option('--alias <alias>', 'the alias the candidate would take', 'champion')
    .option('--report <file>', 'write the Markdown report here (e.g. for a pull-request comment)')
    .action(async (target: string, o: { holdout?: string; alias: string; report?: string }) => {
      const c = ctx();
      if (!target.includes('@'))
        throw new ValidationError(
          `target: '${target}' is not a model ref (<model>@<version>); pipelines are not supported by sextant ci in this build`,
          { field: 'target' },
        );
      if (!o.holdout)
        throw new ValidationError(
          '--holdout: a model ref is scored on a holdout: --holdout <dataset>@<version>',
          {
            field: 'holdout',
          },
        );
      const api = await c.api();
      const report = await checkModelCandidate(
        {
          ml: api,
          registry: registryPort(api),
          checkPromotion: (input) => api.models.checkPromotion(input),
          datasetRows: async (ref) => {
            const v = await api.data.show(ref);
            return v.tables.length ? v.tables.reduce((n, t) => n + t.rowCount, 0) : undefined;
          },
        },
        { ref: target, alias: o.alias, holdout: o.holdout, workDir: os.tmpdir() },
      );
      const markdown = modelReportMarkdown(report);
      if (o.report) writeFileSync(o.report, markdown);
      c.output.out(c.json ? JSON.stringify(report, null, 2) : markdown);
      if (!report.passed) {
        const failed = report.check.gates.filter((g) => g.status !== 'pass').map((g) => g.gate);
        throw new CliOutcome(
          'BLOCKED_BY_POLICY',
          `${report.candidate.ref} is blocked for '${report.alias}': ${failed.join('; ')}`,
          { gates: failed },
        );
      }
    });
}
