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
}
