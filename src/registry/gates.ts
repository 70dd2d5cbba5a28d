import { assertNever } from '../core/errors.js';
import type { Executor } from '../store/index.js';
import type { ModelVersionTable, RegisteredModelTable } from '../store/schema-registry.js';
import * as aliases from './alias.repo.js';
import * as repo from './model.repo.js';
import { compare, type Gate, type MetricRule, type Policy } from './policy.js';
import type { GateResult } from './registry.schema.js';
import type { RegistryDeps } from './registry-deps.js';

/*
 * Gate evaluation. Every gate answers pass, fail or no_data; a request goes ahead only when all pass.
 * "no_data" blocks like a failure: a gate that cannot see its evidence never passes silently.
 */

export function createGateEvaluator(
  deps: Pick<RegistryDeps, 'datasetVersions' | 'dataQuality' | 'gateMetrics'>,
) {
  async function metricGate(
    tx: Executor,
    rule: MetricRule,
    model: RegisteredModelTable,
    version: ModelVersionTable,
  ): Promise<GateResult> {
    const base = { gate: `metric: ${rule.text}`, type: 'metric' };
    const metrics = JSON.parse(version.metrics) as Record<string, number>;
    const value = metrics[rule.metric];
    if (value === undefined) {
      return {
        ...base,
        status: 'fail',
        message: `${model.name}@${version.version} has no metric '${rule.metric}'`,
      };
    }
    if (rule.rhs.kind === 'absolute') {
      const ok = compare(value, rule.op, rule.rhs.value);
      return {
        ...base,
        status: ok ? 'pass' : 'fail',
        message: `${rule.metric} = ${value} ${ok ? 'satisfies' : 'does not satisfy'} ${rule.op} ${rule.rhs.value}`,
        observed: { value, threshold: rule.rhs.value },
      };
    }
    const { alias, metric, offset } = rule.rhs;
    const holder = await aliases.findAlias({ tx, modelId: model.id, alias });
    if (!holder) {
      // The first holder of an alias has nobody to be compared with: stated, not silently skipped.
      return {
        ...base,
        status: 'pass',
        message: `no version holds '${alias}' yet; nothing to compare ${rule.metric} with`,
      };
    }
    const current = await repo.findVersion({ tx, modelId: model.id, version: holder.version });
    const theirs = current ? (JSON.parse(current.metrics) as Record<string, number>)[metric] : undefined;
    if (theirs === undefined) {
      return {
        ...base,
        status: 'no_data',
        message: `the current ${alias} (${model.name}@${holder.version}) has no metric '${metric}' to compare with`,
      };
    }
    const threshold = theirs + offset;
    const ok = compare(value, rule.op, threshold);
    return {
      ...base,
      status: ok ? 'pass' : 'fail',
      message: `${rule.metric} = ${value} ${ok ? 'satisfies' : 'does not satisfy'} ${rule.op} ${alias}.${metric} (${theirs}) ${offset >= 0 ? '+' : '-'} ${Math.abs(offset)} = ${Number(threshold.toPrecision(12))}`,
      observed: { value, [alias]: theirs, threshold },
    };
  }

  async function dataQualityGate(version: ModelVersionTable): Promise<GateResult> {
    const base = { gate: 'data_quality: passed', type: 'data_quality' };
    const ids = JSON.parse(version.dataset_version_ids) as string[];
    if (ids.length === 0) {
      return {
        ...base,
        status: 'no_data',
        message: 'the version records no training dataset versions to check',
      };
    }
    const latest = (id: string) => deps.dataQuality.latestResults(id);
    const problems: string[] = [];
    let missing = 0;
    const observed: Record<string, unknown> = {};
    for (const id of ids) {
      const results = await latest(id);
      observed[id] = results;
      // People know a dataset version by its ref (credit-train@2), not its id.
      const dv = await deps.datasetVersions.get(id).catch(() => undefined);
      const ref = dv ? `${dv.dataset}@${dv.number}` : id;
      if (results.length === 0) {
        missing++;
        problems.push(`${ref} has no quality results: run sextant data validate ${ref} --suite <suite.yaml>`);
      }
      for (const r of results)
        if (!r.passed)
          problems.push(`${ref}: suite '${r.suite}' failed (${r.at}); see sextant data validations ${ref}`);
    }
    if (problems.length === 0)
      return {
        ...base,
        status: 'pass',
        message: `${ids.length} dataset version(s) passed their suites`,
        observed,
      };
    const noData = missing === problems.length;
    return { ...base, status: noData ? 'no_data' : 'fail', message: problems.join('; '), observed };
  }

  async function documentationGate(fields: string[], version: ModelVersionTable): Promise<GateResult> {
    const base = { gate: `documentation: ${fields.join(', ')}`, type: 'documentation' };
    const card = JSON.parse(version.card) as Record<string, string>;
    const missing: string[] = [];
    for (const f of fields) {
      if (f === 'description') {
        if (!version.description?.trim()) missing.push('description');
      } else if (f.startsWith('card.')) {
        if (!card[f.slice(5)]?.trim()) missing.push(f);
      } else if (f === 'dataset.source') {
        const ids = JSON.parse(version.dataset_version_ids) as string[];
        if (ids.length === 0) missing.push('dataset.source (no training dataset versions recorded)');
        for (const id of ids) {
          const dv = await deps.datasetVersions.get(id).catch(() => undefined);
          if (!dv) missing.push(`dataset.source (dataset version ${id} cannot be read)`);
          else if (!dv.source?.trim()) missing.push(`dataset.source of ${dv.dataset}@${dv.number}`);
        }
      }
    }
    return missing.length === 0
      ? { ...base, status: 'pass', message: 'all required documentation is present' }
      : { ...base, status: 'fail', message: `missing: ${missing.join(', ')}`, observed: { missing } };
  }

  async function limitGate(
    kind: 'fairness' | 'drift',
    limit: { metric: string; max: number },
    model: RegisteredModelTable,
    version: ModelVersionTable,
  ): Promise<GateResult> {
    const base = { gate: `${kind}: ${limit.metric} <= ${limit.max}`, type: kind };
    const value = await deps.gateMetrics({
      kind,
      model: model.name,
      version: version.version,
      metric: limit.metric,
    });
    if (value === undefined) {
      return {
        ...base,
        status: 'no_data',
        message: `no ${kind} measurement '${limit.metric}' for ${model.name}@${version.version} (monitoring has not supplied one)`,
      };
    }
    const ok = value <= limit.max;
    return {
      ...base,
      status: ok ? 'pass' : 'fail',
      message: `${limit.metric} = ${value} ${ok ? '<=' : '>'} ${limit.max}`,
      observed: { value },
    };
  }

  async function one(tx: Executor, gate: Gate, model: RegisteredModelTable, version: ModelVersionTable) {
    // Each gate is an object with exactly one key (the policy schema is strict): `in` narrows the union.
    if ('metric' in gate) return metricGate(tx, gate.metric, model, version);
    if ('data_quality' in gate) return dataQualityGate(version);
    if ('documentation' in gate) return documentationGate(gate.documentation, version);
    if ('fairness' in gate) return limitGate('fairness', gate.fairness, model, version);
    if ('drift' in gate) return limitGate('drift', gate.drift, model, version);
    return assertNever(gate);
  }

  /** Evaluates every gate of the policy against the version; never throws for a failing gate. */
  async function evaluate(
    tx: Executor,
    policy: Policy,
    model: RegisteredModelTable,
    version: ModelVersionTable,
  ): Promise<GateResult[]> {
    const out: GateResult[] = [];
    for (const gate of policy.gates) out.push(await one(tx, gate, model, version));
    return out;
  }

  return { evaluate };
}

/** True when every gate passed (no gates: true). */
export function allPass(results: GateResult[]): boolean {
  return results.every((r) => r.status === 'pass');
}
