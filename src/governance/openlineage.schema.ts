import { z } from 'zod';

/*
 * The part of the OpenLineage 2-0-2 object model Sextant writes: RunEvent with run, job, input and output
 * datasets, and the schema / dataSource / version dataset facets. Field names follow the spec
 * (https://openlineage.io/spec/2-0-2/OpenLineage.json); every facet carries _producer and _schemaURL.
 */

export const OPENLINEAGE_RUN_EVENT_SCHEMA_URL =
  'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const SCHEMA_FACET_URL =
  'https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet';
export const DATASOURCE_FACET_URL =
  'https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet';
export const VERSION_FACET_URL =
  'https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet';
export const ERROR_FACET_URL =
  'https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet';
export const NOMINAL_TIME_FACET_URL =
  'https://openlineage.io/spec/facets/1-0-0/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet';
export const SOURCE_CODE_FACET_URL =
  'https://openlineage.io/spec/facets/1-0-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet';

const uri = z.string().regex(/^[a-z][a-z0-9+.-]*:/i, 'must be a URI');
const uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a UUID');
const dateTime = z.iso.datetime({ offset: true });

/** BaseFacet: every facet says who wrote it and which schema it follows. */
export const baseFacetSchema = z.looseObject({ _producer: uri, _schemaURL: uri });

export const schemaDatasetFacetSchema = baseFacetSchema.extend({
  fields: z.array(
    z.looseObject({ name: z.string(), type: z.string().optional(), description: z.string().optional() }),
  ),
});
export const datasourceDatasetFacetSchema = baseFacetSchema.extend({
  name: z.string().optional(),
  uri: uri.optional(),
});
export const datasetVersionFacetSchema = baseFacetSchema.extend({ datasetVersion: z.string() });

export const openLineageDatasetSchema = z.looseObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  facets: z
    .looseObject({
      schema: schemaDatasetFacetSchema.optional(),
      dataSource: datasourceDatasetFacetSchema.optional(),
      version: datasetVersionFacetSchema.optional(),
    })
    .optional(),
});
export type OpenLineageDataset = z.infer<typeof openLineageDatasetSchema>;

export const openLineageEventTypeSchema = z.enum(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']);
export type OpenLineageEventType = z.infer<typeof openLineageEventTypeSchema>;

export const openLineageRunEventSchema = z.object({
  eventType: openLineageEventTypeSchema,
  eventTime: dateTime,
  producer: uri,
  schemaURL: uri,
  run: z.object({ runId: uuid, facets: z.record(z.string(), baseFacetSchema).optional() }),
  job: z.object({
    namespace: z.string().min(1),
    name: z.string().min(1),
    facets: z.record(z.string(), baseFacetSchema).optional(),
  }),
  inputs: z.array(openLineageDatasetSchema),
  outputs: z.array(openLineageDatasetSchema),
});
export type OpenLineageRunEvent = z.infer<typeof openLineageRunEventSchema>;

export const openLineageExportSchema = z.object({
  runId: z.string(),
  events: z.array(openLineageRunEventSchema),
});
export type OpenLineageExport = z.infer<typeof openLineageExportSchema>;
