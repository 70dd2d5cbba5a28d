import { toIso } from '../../core/clock.js';
import type { DomainDeps } from '../../core/domain-deps.js';
import { sha256Hex } from '../../core/hashing.js';
import { newId } from '../../core/ids.js';
import { inTransaction } from '../../store/index.js';
import type { DatasetVersion } from '../dataset.schema.js';
import { type CompareOptions, compareProfiles } from '../stats/index.js';
import type { TableProfile } from '../tables/index.js';
import type { ComparisonResult } from './compare.schema.js';
import { runSuite } from './expectation-runner.js';
import * as repo from './quality.repo.js';
import type { ExpectationResult, LatestResult, ValidationResult } from './suite.schema.js';
import { checkColumns, parseSuite } from './suite-parser.js';
import { suggestSuite } from './suite-suggest.js';
import { pickTable, withTableFile } from './table-file.js';

/** What data quality needs of the data domain (services.data.versions satisfies it). */
export interface VersionLookup {
  resolve(ref: string): Promise<DatasetVersion>;
  get(id: string): Promise<DatasetVersion>;
}

export interface DataQualityDeps extends DomainDeps {
  versions: VersionLookup;
}

/** One side of a comparison: a stored version (its table's profile), or a profile computed elsewhere. */
export type CompareSide = { ref: string } | { profile: TableProfile; label?: string };

export interface CompareInput {
  reference: CompareSide;
  current: CompareSide;
  /** Which table of a multi-table version; the same path is used on both sides. */
  table?: string;
  options?: CompareOptions;
}

/** Suites run over versions (results stored and audited), suggestions from profiles, comparisons. */
export function createDataQualityService(deps: DataQualityDeps) {
  const { db, audit, clock, blobs, versions } = deps;

  async function validate(input: {
    actor: string;
    ref: string;
    suiteYaml: string;
    table?: string;
  }): Promise<ValidationResult> {
    const suite = parseSuite(input.suiteYaml);
    const version = await versions.resolve(input.ref);
    const table = pickTable(version, input.table ?? suite.table);
    checkColumns(suite, table.schema, table.path);
    const now = clock.now();
    const results = await withTableFile(blobs, version, table, (file) =>
      runSuite(suite, { path: file, format: table.format, nullValues: table.schema.nullValues }, now),
    );
    const failed = results.filter((r) => !r.passed).length;
    const digest = sha256Hex(input.suiteYaml);
    const id = newId('dqr', now);
    await inTransaction(db, async (tx) => {
      const suiteId = await repo.upsertSuite({
        tx,
        values: {
          id: newId('dqs', now),
          name: suite.name,
          digest,
          text: input.suiteYaml,
          created_at: now,
          created_by: input.actor,
        },
      });
      await repo.insertResult({
        tx,
        values: {
          id,
          version_id: version.id,
          table_path: table.path,
          suite_id: suiteId,
          suite_name: suite.name,
          passed: failed === 0 ? 1 : 0,
          total: results.length,
          failed,
          results: JSON.stringify(results),
          created_at: now,
          created_by: input.actor,
        },
      });
      await audit.append(tx, {
        actor: input.actor,
        action: 'dataset_version.validate',
        entityType: 'dataset_version',
        entityId: version.id,
        after: { suite: suite.name, suiteDigest: digest, passed: failed === 0, results },
        details: {
          result: id,
          suite: suite.name,
          table: table.path,
          passed: failed === 0,
          failed,
          total: results.length,
        },
      });
    });
    return {
      id,
      versionId: version.id,
      dataset: version.dataset,
      version: version.number,
      table: table.path,
      suite: suite.name,
      suiteDigest: digest,
      passed: failed === 0,
      total: results.length,
      failed,
      results,
      createdAt: toIso(now),
      createdBy: input.actor,
    };
  }

  /** Stored results of a version, newest first (optionally of one suite). */
  async function results(ref: string, opts: { suite?: string } = {}): Promise<ValidationResult[]> {
    const version = await versions.resolve(ref);
    const rows = await repo.listResults({ tx: db, versionId: version.id, ...opts });
    return rows.map((r) => ({
      id: r.id,
      versionId: r.version_id,
      dataset: version.dataset,
      version: version.number,
      table: r.table_path,
      suite: r.suite_name,
      suiteDigest: r.suite_digest,
      passed: r.passed === 1,
      total: Number(r.total),
      failed: Number(r.failed),
      results: JSON.parse(r.results) as ExpectationResult[],
      createdAt: toIso(Number(r.created_at)),
      createdBy: r.created_by,
    }));
  }

  /** The newest result of each suite run on a version (what the registry's gates read). */
  async function latestResults(versionId: string): Promise<LatestResult[]> {
    const rows = await repo.listResults({ tx: db, versionId });
    const seen = new Set<string>();
    const out: LatestResult[] = [];
    for (const r of rows) {
      if (seen.has(r.suite_name)) continue;
      seen.add(r.suite_name);
      out.push({ suite: r.suite_name, passed: r.passed === 1, at: toIso(Number(r.created_at)) });
    }
    return out;
  }

  /** A draft suite (YAML) from a version's stored profile. */
  async function suggest(ref: string, opts: { table?: string } = {}): Promise<{ yaml: string }> {
    const version = await versions.resolve(ref);
    const table = pickTable(version, opts.table);
    const label = `${version.dataset}@${version.number}`;
    return { yaml: suggestSuite(label, `${version.dataset}-suggested`, table) };
  }

  /** Schema differences and per-column drift between two sides, with the dataset verdict. */
  async function compare(input: CompareInput): Promise<ComparisonResult> {
    const [ref, cur] = await Promise.all([
      side(input.reference, input.table),
      side(input.current, input.table),
    ]);
    return {
      reference: ref.label,
      current: cur.label,
      ...compareProfiles(ref.profile, cur.profile, input.options),
    };
  }

  async function side(
    s: CompareSide,
    tablePath: string | undefined,
  ): Promise<{ label: string; profile: TableProfile }> {
    if ('profile' in s) return { label: s.label ?? 'profile', profile: s.profile };
    const v = await versions.resolve(s.ref);
    const t = pickTable(v, tablePath);
    return {
      label: `${v.dataset}@${v.number}${v.tables.length > 1 ? `/${t.path}` : ''}`,
      profile: t.profile,
    };
  }

  return { validate, results, latestResults, suggest, compare };
}

export type DataQualityService = ReturnType<typeof createDataQualityService>;
