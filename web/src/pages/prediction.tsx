import type { PredictionTrace } from '../../../src/governance/trace/trace.schema.js';
import { api } from '../api';
import { SignedBars } from '../components/bars';
import { Badge, Facts, Show } from '../components/status';
import { num, short, when } from '../format';
import { Link, seg } from '../router';
import { useAsync } from '../use-async';

/** The chain behind a prediction: deployment -> model version -> alias -> run -> datasets (+ gaps). */
function Trace({ t }: { t: PredictionTrace }) {
  return (
    <ol className="trace" data-testid="trace">
      {t.deployment ? (
        <li>
          <strong>Deployment</strong>{' '}
          <Link to={`/deployments/${seg(t.deployment.name)}`}>{t.deployment.name}</Link> serving{' '}
          {t.deployment.model}@{t.deployment.ref}
        </li>
      ) : null}
      {t.modelVersion ? (
        <li>
          <strong>Model version</strong>{' '}
          <Link to={`/models/${seg(t.modelVersion.model)}/versions/${t.modelVersion.version}`}>
            {t.modelVersion.ref}
          </Link>{' '}
          <code>{short(t.modelVersion.sha256)}</code> {t.modelVersion.format}, by {t.modelVersion.createdBy}
        </li>
      ) : null}
      {t.alias ? (
        <li>
          <strong>Alias</strong> {t.alias.name} at {when(t.alias.at)} was held by v{t.alias.holder ?? '∅'}
          {t.alias.since ? `, moved there by ${t.alias.since.actor} at ${when(t.alias.since.at)}` : ''}
          {t.alias.since?.reason ? <q className="reason">{t.alias.since.reason}</q> : null}
          {t.alias.since && t.alias.since.approvals.length > 0
            ? `; approved by ${t.alias.since.approvals.map((a) => a.actor).join(', ')}`
            : ''}
        </li>
      ) : null}
      {t.run ? (
        <li>
          <strong>Training run</strong> <Link to={`/runs/${seg(t.run.id)}`}>{t.run.name || t.run.id}</Link>{' '}
          <Badge value={t.run.status} /> by {t.run.user}
          {t.run.gitCommit ? (
            <>
              , commit <code>{short(t.run.gitCommit)}</code>
            </>
          ) : null}
        </li>
      ) : null}
      {t.datasets.map((d) => (
        <li key={d.id}>
          <strong>Dataset</strong>{' '}
          <Link to={`/datasets/${seg(d.dataset)}/versions/${d.number}`}>{d.ref}</Link>{' '}
          <code>{short(d.digest)}</code>
          {d.rowCount !== null ? `, ${d.rowCount} rows` : ''}
          {d.quality
            ? d.quality.map((q) => (
                <span key={q.suite}>
                  {' '}
                  quality {q.suite}: <Badge value={q.passed ? 'passed' : 'failed'} />
                </span>
              ))
            : null}
          {d.upstream.length > 0 ? `, ${d.upstream.length} upstream node(s)` : ''}
        </li>
      ))}
      {t.gaps.map((g) => (
        <li key={`${g.link}-${g.ref}`} className="gap">
          <strong>Gap</strong> {g.link}
          {g.ref ? ` ${g.ref}` : ''}: {g.reason}
        </li>
      ))}
    </ol>
  );
}

/** A logged prediction: inputs, outputs, label, its trace to the data and its explanation as a chart. */
export function PredictionPage({ id }: { id: string }) {
  const trace = useAsync(() => api().serving.trace(id), [id]);
  const explanation = useAsync(() => api().serving.explain(id), [id]);
  return (
    <section>
      <h1>
        <span className="muted">Prediction</span> {id}
      </h1>
      <Show value={trace} what="the prediction">
        {(t) => (
          <>
            <Facts
              rows={[
                ['Served', when(t.prediction.servedAt)],
                ['Model', `${t.prediction.model}@${t.prediction.version} (${t.prediction.role})`],
                [
                  'Prediction',
                  <strong key="p">
                    {t.prediction.outputs
                      ? String(t.prediction.outputs.prediction)
                      : `failed: ${t.prediction.error?.code}: ${t.prediction.error?.message}`}
                  </strong>,
                ],
                [
                  'Probabilities',
                  t.prediction.outputs?.probabilities
                    ? Object.entries(t.prediction.outputs.probabilities)
                        .map(([k, v]) => `${k}: ${num(v)}`)
                        .join(', ')
                    : '-',
                ],
                ['Latency', `${num(t.prediction.latencyMs)} ms`],
                [
                  'Label',
                  t.prediction.label
                    ? `${String(t.prediction.label.value)} (${when(t.prediction.label.receivedAt)})`
                    : 'none yet',
                ],
                [
                  'Lineage',
                  <Link key="l" to={`/lineage?ref=${seg(`${t.prediction.model}@${t.prediction.version}`)}`}>
                    graph
                  </Link>,
                ],
              ]}
            />
            <h2>Inputs</h2>
            <table>
              <tbody>
                {Object.entries(t.prediction.inputs).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td className="wrap">{typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Trace</h2>
            <Trace t={t} />
          </>
        )}
      </Show>
      <h2>Explanation</h2>
      <Show value={explanation} what="the explanation">
        {({ explanation: e }) => {
          const values = Object.entries(e.attributions).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
          return (
            <>
              <p className="muted">
                {e.method} attributions in {e.space.replace('_', '-')} space: base {num(e.baseValue)} + Σ
                attributions = {num(e.output)} ({e.exact ? 'exact' : `±${num(e.tolerance)}`}, background of{' '}
                {e.backgroundSize} rows)
              </p>
              <SignedBars values={values} title="feature attributions" />
            </>
          );
        }}
      </Show>
    </section>
  );
}
