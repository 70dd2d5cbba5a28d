import type { DomainDeps } from '../core/domain-deps.js';
import type { DatasetVersion } from '../data/index.js';
import type { ModelVersion } from '../registry/index.js';
import type { Deployment } from '../serving/index.js';
import type { MonitoringEvents } from './monitoring.events.js';
import type { PredictionScan } from './window-traffic.js';

/** What monitoring is built from: the shared parts and small ports of the domains below it. */
export interface MonitoringDeps extends DomainDeps {
  deployments: { get(nameOrId: string): Promise<Deployment> };
  versions: {
    /** `<model>@<n|alias>`. */
    resolve(ref: string): Promise<ModelVersion>;
    list(q: { model: string; limit: number }): Promise<{ versions: ModelVersion[] }>;
  };
  datasets: {
    get(id: string): Promise<DatasetVersion>;
    resolve(ref: string): Promise<DatasetVersion>;
  };
  predictions: PredictionScan;
  events: MonitoringEvents;
  /** Without it, CBPE calibrates on the version's labelled early traffic instead of its training rows. */
  referenceScores?: ReferenceScorer;
}

/** A model version's scores on the rows of its training data, with their labels (CBPE's reference). */
export interface ReferenceScores {
  /** P(positive) per row, as serving scores it. */
  scores: ArrayLike<number>;
  /** The training target per row, as stored. */
  labels: readonly unknown[];
  /** What was scored: `<dataset>@<n>:<table>`, and how many of its rows. */
  sourceRef: string;
}

/** Scores a version's training rows through the model (serving's runtime; wired in app/services.ts). */
export type ReferenceScorer = (
  version: ModelVersion,
  opts: {
    maxRows: number;
    /** A dataset reference's `<dataset>@<v>[:table]`: its rows are scored instead of the training data's. */
    dataset?: string | undefined;
    /** The label column of those rows (default: the signature's target). */
    target?: string | undefined;
  },
) => Promise<ReferenceScores>;
