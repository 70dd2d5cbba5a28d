import { createHash } from 'node:crypto';
import type { RunStatus } from '../tracking/index.js';
import {
  DATASOURCE_FACET_URL,
  OPENLINEAGE_RUN_EVENT_SCHEMA_URL,
  type OpenLineageDataset,
  type OpenLineageEventType,
  type OpenLineageRunEvent,
  SCHEMA_FACET_URL,
  VERSION_FACET_URL,
} from './openlineage.schema.js';

/** Who wrote the events (OpenLineage `producer` and every facet's `_producer`). */
export const SEXTANT_PRODUCER = 'https://github.com/sextant-mlops/sextant/tree/v0.1.0';
/** Schema of Sextant's own run facet (`sextant_run`), documented in docs/lineage.md. */
export const SEXTANT_RUN_FACET_URL =
  'https://github.com/sextant-mlops/sextant/blob/v0.1.0/docs/lineage.md#sextant_run';

// A fixed namespace for UUIDv5 names: the same run id always becomes the same UUID, on every server.
const SEXTANT_UUID_NAMESPACE = Buffer.from('5e7a9d1c4b2f4e8a9c3d6f0b1a2e7c94', 'hex');

/** The RFC 9562 version-5 (SHA-1, name-based) UUID of a Sextant run id: stable across exports and servers. */
export function runUuid(runId: string): string {
  const h = createHash('sha1').update(SEXTANT_UUID_NAMESPACE).update(`sextant:run:${runId}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** One dataset as the export sees it, whatever it came from (a Sextant version or an MLflow input). */
export interface ExportDataset {
  namespace: string;
  name: string;
  /** The version facet's value: the version digest. */
  version?: string;
  /** Source URI, for the dataSource facet. */
  source?: string;
  fields?: { name: string; type: string; description?: string }[];
}

export interface ExportRun {
  id: string;
  name: string;
  status: RunStatus;
  experimentId: string;
  experiment: string;
  startTime: string;
  endTime: string | null;
}

/** The terminal event of a finished run; running and scheduled runs have only started. */
function terminalType(status: RunStatus): OpenLineageEventType | undefined {
  switch (status) {
    case 'FINISHED':
      return 'COMPLETE';
    case 'FAILED':
      return 'FAIL';
    case 'KILLED':
      return 'ABORT';
    case 'RUNNING':
    case 'SCHEDULED':
      return undefined;
  }
}

const facetBase = (producer: string, schemaURL: string) => ({ _producer: producer, _schemaURL: schemaURL });

/** Only real URIs go into the dataSource facet's `uri` (the spec types it as a URI). */
function asUri(source: string): string | undefined {
  try {
    return /^[a-z][a-z0-9+.-]*:/i.test(source) ? new URL(source).toString() : undefined;
  } catch {
    return undefined;
  }
}

function toDataset(d: ExportDataset, producer: string): OpenLineageDataset {
  const facets: NonNullable<OpenLineageDataset['facets']> = {};
  if (d.fields) facets.schema = { ...facetBase(producer, SCHEMA_FACET_URL), fields: d.fields };
  if (d.source) {
    const uri = asUri(d.source);
    facets.dataSource = {
      ...facetBase(producer, DATASOURCE_FACET_URL),
      name: d.source,
      ...(uri ? { uri } : {}),
    };
  }
  if (d.version) facets.version = { ...facetBase(producer, VERSION_FACET_URL), datasetVersion: d.version };
  return { namespace: d.namespace, name: d.name, ...(Object.keys(facets).length ? { facets } : {}) };
}

/**
 * A run as OpenLineage RunEvents: START at its start time, then COMPLETE, FAIL or ABORT at its end time
 * by status (a run still going has only START). Both events carry the inputs and outputs.
 */
export function buildRunEvents(input: {
  run: ExportRun;
  inputs: ExportDataset[];
  outputs: ExportDataset[];
  jobNamespace: string;
  producer?: string;
}): OpenLineageRunEvent[] {
  const producer = input.producer ?? SEXTANT_PRODUCER;
  const { run } = input;
  const body = {
    producer,
    schemaURL: OPENLINEAGE_RUN_EVENT_SCHEMA_URL,
    run: {
      runId: runUuid(run.id),
      facets: {
        sextant_run: {
          ...facetBase(producer, SEXTANT_RUN_FACET_URL),
          runId: run.id,
          name: run.name,
          status: run.status,
          experimentId: run.experimentId,
        },
      },
    },
    job: { namespace: input.jobNamespace, name: run.experiment },
    inputs: input.inputs.map((d) => toDataset(d, producer)),
    outputs: input.outputs.map((d) => toDataset(d, producer)),
  };
  const events: OpenLineageRunEvent[] = [{ eventType: 'START', eventTime: run.startTime, ...body }];
  const end = terminalType(run.status);
  if (end) events.push({ eventType: end, eventTime: run.endTime ?? run.startTime, ...body });
  return events;
}
