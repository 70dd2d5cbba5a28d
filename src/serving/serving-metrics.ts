import type PromClient from 'prom-client';
import { lazyRequire } from '../core/lazy-require.js';

/*
 * Prometheus metrics of serving, on a registry of their own (never prom-client's global one), so two
 * domains in one process (tests, a server plus `serve`) never share or double-register a metric.
 */

/** Latency buckets (seconds): from 100 us to 2.5 s, dense where a tabular model answers. */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** What the metrics read from a deployment's ledger (its stats()). */
export interface LedgerCounts {
  /** Rows buffered or being committed. */
  pending: number;
  /** Group commits so far. */
  commits: number;
  /** Rows committed so far. */
  committed: number;
}

// prom-client (and the OpenTelemetry API it requires) loads with the first metric touched: a CLI
// command that opens the workspace but serves nothing never loads it.
const promClient = lazyRequire<typeof PromClient>('prom-client');

/** The metrics themselves, on their own registry; `ledgers` is read at each scrape. */
function buildMetrics(ledgers: Map<string, () => LedgerCounts>) {
  const { Counter, Gauge, Histogram, Registry } = promClient();
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'sextant_predict_requests_total',
      help: 'Predict requests answered, by deployment and HTTP status',
      labelNames: ['deployment', 'status'] as const,
      registers,
    }),
    predictions: new Counter({
      name: 'sextant_predictions_total',
      help: 'Records predicted, by deployment, answering model version and role (champion, challenger, shadow)',
      labelNames: ['deployment', 'model_version', 'role'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'sextant_predict_errors_total',
      help: 'Failed predict requests and shadow predictions, by deployment and error code',
      labelNames: ['deployment', 'code'] as const,
      registers,
    }),
    latency: new Histogram({
      name: 'sextant_predict_latency_seconds',
      help: 'Time from a request reaching the deployment to the model answering, by deployment and model version',
      labelNames: ['deployment', 'model_version'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ledgerPending: new Gauge({
      name: 'sextant_ledger_pending',
      help: 'Prediction records buffered or being committed, by deployment',
      labelNames: ['deployment'] as const,
      registers,
      collect() {
        this.reset();
        for (const [deployment, stats] of ledgers) this.set({ deployment }, stats().pending);
      },
    }),
    ledgerCommits: new Counter({
      name: 'sextant_ledger_commits_total',
      help: 'Group commits of the prediction log, by deployment (rows_total / commits_total = rows per commit)',
      labelNames: ['deployment'] as const,
      registers,
      collect() {
        this.reset();
        for (const [deployment, stats] of ledgers) this.inc({ deployment }, stats().commits);
      },
    }),
    ledgerRows: new Counter({
      name: 'sextant_ledger_rows_total',
      help: 'Prediction records committed to the prediction log, by deployment',
      labelNames: ['deployment'] as const,
      registers,
      collect() {
        this.reset();
        for (const [deployment, stats] of ledgers) this.inc({ deployment }, stats().committed);
      },
    }),
    swaps: new Counter({
      name: 'sextant_model_swaps_total',
      help: 'Model versions swapped in after the followed alias moved, by deployment',
      labelNames: ['deployment'] as const,
      registers,
    }),
    loadFailures: new Counter({
      name: 'sextant_model_load_failures_total',
      help: 'Model versions that failed to load (the previous one kept serving), by deployment and version',
      labelNames: ['deployment', 'model_version'] as const,
      registers,
    }),
  };
}

/** Creates the serving metrics: requests, predictions, errors, latency, ledger backlog, swaps. */
export function createServingMetrics() {
  const ledgers = new Map<string, () => LedgerCounts>();
  let built: ReturnType<typeof buildMetrics> | undefined;
  const m = () => {
    built ??= buildMetrics(ledgers);
    return built;
  };
  return {
    get registry() {
      return m().registry;
    },
    get requests() {
      return m().requests;
    },
    get predictions() {
      return m().predictions;
    },
    get errors() {
      return m().errors;
    },
    get latency() {
      return m().latency;
    },
    get ledgerPending() {
      return m().ledgerPending;
    },
    get ledgerCommits() {
      return m().ledgerCommits;
    },
    get ledgerRows() {
      return m().ledgerRows;
    },
    get swaps() {
      return m().swaps;
    },
    get loadFailures() {
      return m().loadFailures;
    },
    /** Reports a deployment's ledger (backlog, commits, rows) at each scrape; the returned function stops it. */
    watchLedger(deployment: string, stats: () => LedgerCounts): () => void {
      ledgers.set(deployment, stats);
      return () => {
        if (ledgers.get(deployment) === stats) ledgers.delete(deployment);
      };
    },
    /** The Prometheus text exposition. */
    text: (): Promise<string> => m().registry.metrics(),
    /** `text/plain; version=0.0.4; charset=utf-8`. */
    get contentType(): string {
      return m().registry.contentType as string;
    },
  };
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
