import { describe, expect, it } from 'vitest';
import { openLineageRunEventSchema } from './openlineage.schema.js';
import { buildRunEvents, runUuid } from './openlineage-event.js';

const run = {
  id: 'run_01jabc',
  name: 'brisk-otter-1',
  status: 'FINISHED' as const,
  experimentId: '3',
  experiment: 'credit',
  startTime: '2026-01-01T00:00:00.000Z',
  endTime: '2026-01-01T00:05:00.000Z',
};

describe('OpenLineage events', () => {
  it('a run id maps to the same version-5 UUID every time, and different ids to different UUIDs', () => {
    const u = runUuid('run_01jabc');
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(runUuid('run_01jabc')).toBe(u);
    expect(runUuid('run_01jabd')).not.toBe(u);
  });

  it('events satisfy the spec: required fields, facets with _producer and _schemaURL', () => {
    const events = buildRunEvents({
      run,
      jobNamespace: 'sextant',
      inputs: [
        {
          namespace: 'sextant',
          name: 'credit-train',
          version: 'f'.repeat(64),
          source: 'not a uri',
          fields: [{ name: 'age', type: 'BIGINT' }],
        },
      ],
      outputs: [],
    });
    expect(events.map((e) => [e.eventType, e.eventTime])).toEqual([
      ['START', run.startTime],
      ['COMPLETE', run.endTime],
    ]);
    for (const e of events) {
      openLineageRunEventSchema.parse(e);
      for (const k of ['eventTime', 'producer', 'schemaURL', 'run', 'job'] as const)
        expect(e[k]).toBeDefined();
      const facets = [...Object.values(e.run.facets ?? {}), ...Object.values(e.inputs[0]?.facets ?? {})] as {
        _producer: string;
        _schemaURL: string;
      }[];
      expect(facets.length).toBe(4);
      for (const f of facets) {
        expect(f._producer).toBe(e.producer);
        expect(f._schemaURL).toMatch(/^https:\/\/.+#\/\$defs\/|^https:\/\/.+#sextant_run$/);
      }
    }
    // A source that is no URI is named, never put in the facet's uri (the spec types it as a URI).
    expect(events[0]?.inputs[0]?.facets?.dataSource).not.toHaveProperty('uri');
  });

  it('the schema rejects an event that lacks a required field', () => {
    const [e] = buildRunEvents({ run, jobNamespace: 'ns', inputs: [], outputs: [] });
    const { producer: _p, ...noProducer } = e!;
    expect(openLineageRunEventSchema.safeParse(noProducer).success).toBe(false);
    const badFacet = { ...e!, run: { ...e!.run, facets: { x: { _producer: 'https://a' } } } };
    expect(openLineageRunEventSchema.safeParse(badFacet).success).toBe(false);
  });
});
