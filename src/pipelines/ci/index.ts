/*
 * `sextant ci`: a candidate model judged against the champion on one holdout, with the policy's gates
 * as a dry run, reported in Markdown for a pull request.
 */

/** Evaluates a model candidate and the alias holder on one holdout and dry-runs the alias's gates. */
export {
  type CiModelInput,
  type CiModelPort,
  checkModelCandidate,
  type MetricRow,
  type ModelCiReport,
  type TrainingDataRow,
} from './ci-model.js';
/** Runs a pipeline for CI (start, wait, report its steps). */
export {
  type CiPipelinePort,
  type CiRun,
  type CiStep,
  type PipelineCiReport,
  pipelineReportMarkdown,
  runPipelineForCi,
} from './ci-pipeline.js';
/** The Markdown report (a pull-request comment). */
export { modelReportMarkdown } from './ci-report.js';
