/*
 * The Sextant demo story, registry chapter: register the best run's model, see a promotion request
 * blocked by a policy gate, document the model, have a second user approve it (the requester may
 * not), promote a retrained version, roll back during an "incident", and answer "which version was
 * champion at T" from the alias history. Every step lands on the audit chain, verified at the end.
 *
 * The lead's demo calls registryChapter after training. For the approval it passes `reviewer`: the
 * models API of another user with the approver role, e.g. on a local workspace
 *   await api.users.create({ name: 'demo-reviewer', role: 'approver' });
 *   registryChapter(api, { runId, reviewer: modelsLocalApi(ws, 'demo-reviewer') });
 * Without a reviewer the chapter shows the requester's own approval refused, then relaxes the policy
 * to zero approvals (a single-user workspace) and says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { table } from '../src/cli/output.js';
import type { SextantApi } from '../src/client/index.js';
import type { ModelsApi } from '../src/client/models-api.js';
import type { GateResult, ModelVersion, PromotionRequest } from '../src/registry/registry.schema.js';

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
const gates = (g: GateResult[]) =>
  indent(
    table(
      ['GATE', 'RESULT', 'WHY'],
      g.map((x) => [x.gate, x.status.toUpperCase(), x.message]),
    ),
  );

export interface RegistryChapterOptions {
  /** The best training run: its artifact `model/` (model.onnx + signature.json) is registered. */
  runId?: string;
  /** Or a model file to register when no trained run is at hand. */
  onnxFile?: string;
  /** A second user's models API (approver role) to approve requests. */
  reviewer?: ModelsApi;
  /** Registered model name (default demo-credit-risk). */
  model?: string;
}

/** Runs the registry chapter; returns the model name and the champion version at the end. */
export async function registryChapter(
  api: SextantApi,
  opts: RegistryChapterOptions,
): Promise<{ model: string; champion: number; versions: number[] }> {
  const model = opts.model ?? 'demo-credit-risk';
  const m = api.models;
  console.log('\nChapter: model registry - versions, gated promotion, approval, rollback, history');

  const register = async (): Promise<ModelVersion> => {
    if (opts.runId)
      return m.register(model, { runId: opts.runId, path: 'model', description: 'gbdt, best of the sweep' });
    if (!opts.onnxFile) throw new Error('registryChapter needs opts.runId or opts.onnxFile');
    return m.registerFile(model, {
      filename: path.basename(opts.onnxFile),
      content: fs.readFileSync(opts.onnxFile),
    });
  };
  const v1 = await register();
  console.log(
    `  registered ${v1.model}@${v1.version}: ${v1.format}, sha256 ${v1.sha256.slice(0, 12)}, run ${v1.runId ?? '-'}`,
  );
  if (v1.signature) {
    console.log(
      `  signature: ${v1.signature.inputs.map((i) => `${i.name}:${i.type}`).join(', ')} -> ${v1.signature.outputs.map((o) => o.name).join(', ')}`,
    );
  }

  // A gate on a metric the run actually logged (if any), and documentation gates.
  const metric = ['auc', 'roc_auc', 'val_auc', 'accuracy', 'val_accuracy'].find(
    (k) => v1.metrics[k] !== undefined,
  );
  const metricGates = metric
    ? `  - metric: ${metric} >= ${Math.floor((v1.metrics[metric]! - 0.05) * 100) / 100}\n  - metric: ${metric} >= champion.${metric} - 0.05\n`
    : '';
  const policy = `approvals: 1\napproverRoles: [approver, admin]\nseparationOfDuties: true\nexpiresAfter: 7d\nemergencyRollback: admin\ngates:\n${metricGates}  - documentation: [card.intended_use, card.limitations]\n`;
  await m.setPolicy(model, policy);
  console.log(`  policy for '${model}': 1 approval by an approver, separation of duties, gates:`);
  console.log(indent(policy.split('gates:\n')[1]!.trimEnd()));

  let request = await m.promote({
    ref: `${model}@${v1.version}`,
    alias: 'champion',
    reason: 'first production model',
  });
  console.log(
    `\n  promote ${model}@${v1.version} -> champion: request ${request.id} is ${request.status.toUpperCase()}`,
  );
  console.log(gates(request.openGates));

  const card = {
    intended_use: 'Rank consumer credit applications for manual review; not for automated denial.',
    limitations: 'Trained on synthetic data; not validated on real applicants.',
  };
  await m.updateVersion(model, v1.version, { card });
  console.log('  documented the model card (intended use, limitations); opening the request again');
  request = await m.promote({
    ref: `${model}@${v1.version}`,
    alias: 'champion',
    reason: 'first production model',
  });
  console.log(`  request ${request.id}: ${request.status}`);
  request = await approve(api, opts.reviewer, request, model);
  const promotedAt = new Date().toISOString();

  await new Promise((r) => setTimeout(r, 10));
  const v2 = await register();
  await m.updateVersion(model, v2.version, { card });
  console.log(`\n  registered a retrained ${model}@${v2.version}; promoting it`);
  request = await m.promote({
    ref: `${model}@${v2.version}`,
    alias: 'champion',
    reason: 'retrained on fresh data',
  });
  request = await approve(api, opts.reviewer, request, model);

  console.log('\n  incident: the new champion misbehaves - rolling back (an admin, allowed by the policy)');
  const rolled = await m.rollback(model, { alias: 'champion', reason: 'incident: latency regression' });
  if (rolled.outcome === 'rolled_back') {
    console.log(
      `  champion ${rolled.event.fromVersion} -> ${rolled.event.toVersion} (emergency rollback by ${rolled.event.actor})`,
    );
  } else {
    console.log(`  rollback needs approval: request ${rolled.request.id}`);
  }

  const { events } = await m.history(model, { alias: 'champion' });
  console.log('\n  champion history:');
  console.log(
    indent(
      table(
        ['AT', 'FROM', 'TO', 'KIND', 'BY', 'APPROVED BY', 'WHY'],
        events.map((e) => [
          e.at,
          e.fromVersion ?? '-',
          e.toVersion ?? '-',
          e.emergency ? `${e.kind}!` : e.kind,
          e.actor,
          e.approvals.map((a) => a.actor).join(', ') || '-',
          e.reason,
        ]),
      ),
    ),
  );
  const at = (await m.history(model, { alias: 'champion', at: promotedAt })).at?.[0];
  console.log(`  which version was champion at ${promotedAt}? ${at?.version ?? 'none'}`);

  const champion = await m.version(`${model}@champion`);
  const verify = await api.audit.verify();
  console.log(`  audit chain: ${verify.ok ? 'OK' : 'BROKEN'} (${verify.entries} entries)`);
  console.log(`\n  npx sextant models card ${model}@champion --html --out card.html`);
  console.log(`  npx sextant models history ${model} --alias champion --at ${promotedAt}`);
  return { model, champion: champion.version, versions: [v1.version, v2.version] };
}

/** The requester may not approve; a reviewer does (or, alone, the policy is relaxed and it says so). */
async function approve(
  api: SextantApi,
  reviewer: ModelsApi | undefined,
  request: PromotionRequest,
  model: string,
) {
  if (request.status !== 'pending') return request;
  try {
    await api.models.approve(request.id, 'approving my own request');
  } catch (err) {
    console.log(`  the requester approving it: refused - ${(err as Error).message}`);
  }
  if (reviewer) {
    const done = await reviewer.approve(request.id, 'reviewed the card and the gates');
    const by = done.decisions.at(-1)?.actor;
    console.log(
      `  ${by} approves: request ${done.status.toUpperCase()}${done.status === 'executed' ? `, champion -> ${done.version}` : ''}`,
    );
    return done;
  }
  console.log('  no second user in this workspace: the policy is relaxed to zero approvals for the demo');
  const current = await api.models.policy(model);
  await api.models.cancel(request.id);
  await api.models.setPolicy(model, current.yaml.replace(/^approvals: \d+$/m, 'approvals: 0'));
  const done = await api.models.promote({
    ref: `${model}@${request.version}`,
    alias: request.alias,
    reason: request.reason ?? undefined,
  });
  console.log(`  request ${done.id}: ${done.status.toUpperCase()}`);
  return done;
}
