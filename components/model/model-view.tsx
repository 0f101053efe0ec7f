'use client';

/**
 * A model's page: its card (how it was trained), its evaluation (every truncation setting beside
 * the floor real images reach, the truncation sweep as a chart, likelihoods), its sample grid,
 * and the live dashboard of a running or recent training job that produces it.
 */
import { useCallback, useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { z } from 'zod';
import { ModelDetailSchema, type Card, type ModelDetail } from '@/lib/protocol/models';
import { createRoomOnServer } from '@/lib/realtime/create-room';
import { rememberRoom } from '@/lib/stores/saved-rooms';
import { LineChart } from './line-chart';
import { MetricSummary } from './metric-summary';
import { JobSchema, TrainingDashboard, type Job } from './training-dashboard';

const JobsSchema = z.object({ ok: z.literal(true), jobs: z.array(JobSchema) });

type Detail = { status: 'loading' } | { status: 'ok'; detail: ModelDetail } | { status: 'missing' } | { status: 'error'; message: string };

const fmt = (v: number | undefined, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');

export function ModelView({ modelId }: { modelId: string }) {
  const router = useRouter();
  const [detail, setDetail] = useState<Detail>({ status: 'loading' });
  const [job, setJob] = useState<Job | null>(null);
  const [reload, setReload] = useState(0);
  const [roomError, setRoomError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      try {
        const r = await fetch(`/api/models/${encodeURIComponent(modelId)}`, { signal: abort.signal });
        if (r.status === 404) return setDetail({ status: 'missing' });
        const parsed = ModelDetailSchema.safeParse(await r.json());
        setDetail(parsed.success ? { status: 'ok', detail: parsed.data } : { status: 'error', message: 'unexpected answer' });
      } catch (err) {
        if (!abort.signal.aborted) setDetail({ status: 'error', message: err instanceof Error ? err.message : String(err) });
      }
    })();
    void (async () => {
      try {
        const r = await fetch('/api/training-jobs', { signal: abort.signal });
        if (!r.ok) return;
        const parsed = JobsSchema.safeParse(await r.json());
        if (!parsed.success) return;
        const wanted = new URLSearchParams(window.location.search).get('job');
        const mine = parsed.data.jobs.filter((j) => j.spec.modelId === modelId);
        setJob(mine.find((j) => j.id === wanted) ?? mine.find((j) => j.status === 'running' || j.status === 'queued') ?? mine[0] ?? null);
      } catch {
        // No training API on this server: no dashboard.
      }
    })();
    return () => abort.abort();
  }, [modelId, reload]);

  // When the job ends, its model appears (or its card changes): read the model again.
  const onEnded = useCallback(() => setTimeout(() => setReload((n) => n + 1), 1500), []);

  const d = detail.status === 'ok' ? detail.detail : undefined;
  const card: Card | null | undefined = d?.card;
  const evaluation = card?.metrics?.evaluation;

  return (
    <main className="page wide">
      <header className="room-head">
        <a href="/" className="home-link" aria-label="Latentroom home">
          <span className="brand-mark" aria-hidden="true" />
        </a>
        <div className="room-title">
          <h1>{card?.name ?? d?.model.name ?? modelId}</h1>
          <span className="muted small mono">{modelId}</span>
        </div>
        <span className="spacer" />
        {d && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={async () => {
              const name = `${card?.name ?? modelId} room`;
              const res = await createRoomOnServer(modelId, name);
              if (!res.ok) return setRoomError(res.message ?? res.error);
              rememberRoom({ roomId: res.data.roomId, name, modelId, editorToken: res.data.editorToken, viewerToken: res.data.viewerToken });
              router.push(`/rooms/${res.data.roomId}#t=${res.data.editorToken}`);
            }}
          >
            Create a room
          </button>
        )}
      </header>
      {roomError && (
        <div className="banner banner-bad" role="alert">
          Could not create a room: {roomError}
        </div>
      )}
      {detail.status === 'loading' && <p className="loading">Loading the model…</p>}
      {detail.status === 'error' && <p className="bad-text">The model could not be read: {detail.message}</p>}
      {detail.status === 'missing' && !job && <p>There is no model called {modelId} here (yet).</p>}
      {detail.status === 'missing' && job && <p className="muted">This model does not exist yet: the job below is training it.</p>}

      <div className="model-layout">
        {job && <TrainingDashboard key={job.id} job={job} onEnded={onEnded} />}
        {d && (
          <section className="card" aria-labelledby="card-title">
            <h2 id="card-title" className="card-title">
              Model card
            </h2>
            <div className="card-columns">
              {d.hasSamples && <img className="grid-image" src={`/api/models/${modelId}/samples.png`} alt={`sample grid of ${modelId}`} />}
              <dl className="facts">
                <Fact label="family">{d.model.family}</Fact>
                <Fact label="data set">{d.model.dataset ?? card?.dataset ?? (d.model.trained === false ? 'none: random weights' : '–')}</Fact>
                <Fact label="latent">
                  z ∈ ℝ<sup>{d.model.latentDim}</sup>
                  {d.model.numClasses ? `, ${d.model.numClasses} classes` : ''}
                </Fact>
                {card?.steps !== undefined && (
                  <Fact label="training">
                    {card.steps.toLocaleString()} steps{card.batchSize ? ` of ${card.batchSize}` : ''}
                    {card.wallMs ? `, ${Math.round(card.wallMs / 60000)} min` : ''}
                    {card.backend ? ` on ${card.backend}` : ''}
                    {card.seed !== undefined ? `, seed ${card.seed}` : ''}
                  </Fact>
                )}
                {card?.losses && (
                  <Fact label="last losses">
                    <span className="mono small">
                      {Object.entries(card.losses)
                        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
                        .join(' · ')}
                    </span>
                  </Fact>
                )}
                {card?.command && (
                  <Fact label="command">
                    <code className="small">{card.command}</code>
                  </Fact>
                )}
                {d.model.weightsHash && (
                  <Fact label="weights">
                    <span className="mono small">sha256 {d.model.weightsHash.slice(0, 16)}…</span>
                  </Fact>
                )}
              </dl>
            </div>
          </section>
        )}
        {d && (
          <section className="card" aria-labelledby="eval-title">
            <h2 id="eval-title" className="card-title">
              Evaluation
            </h2>
            {!evaluation ? (
              <>
                <MetricSummary summary={card?.metrics?.summary} />
                <p className="muted small">No evaluation report in this model's card. `npm run eval -- --model {modelId}` computes one; the service runs it after each training job.</p>
              </>
            ) : (
              <EvaluationReport evaluation={evaluation} />
            )}
          </section>
        )}
      </div>
    </main>
  );
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function EvaluationReport({ evaluation }: { evaluation: NonNullable<NonNullable<Card['metrics']>['evaluation']> }) {
  const floor = evaluation.floor;
  const settings = evaluation.settings;
  const psiSettings = settings
    .map((s, i) => ({ s, i, psi: /^psi=([\d.]+)$/.exec(s.truncation)?.[1] }))
    .filter((x) => x.psi !== undefined)
    .map((x) => ({ ...x, psi: Number(x.psi) }))
    .sort((a, b) => a.psi - b.psi);
  const hasClassAcc = settings.some((s) => s.classAccuracy !== undefined);
  return (
    <div className="stack">
      <p className="muted small">{evaluation.features?.description ?? ''}</p>
      <div className="table-wrap">
        <table className="metrics" data-testid="evaluation-table">
          <thead>
            <tr>
              <th scope="col">set</th>
              <th scope="col">FID</th>
              <th scope="col">× floor</th>
              <th scope="col">precision</th>
              <th scope="col">recall</th>
              <th scope="col">IS</th>
              {hasClassAcc && <th scope="col">class acc.</th>}
            </tr>
          </thead>
          <tbody>
            {floor && (
              <tr className="floor-row">
                <th scope="row">real images (floor)</th>
                <td>{fmt(floor.fid, 1)}</td>
                <td>1.0</td>
                <td>{fmt(floor.precision?.mean)}</td>
                <td>{fmt(floor.recall?.mean)}</td>
                <td>{fmt(floor.inceptionScore?.mean)}</td>
                {hasClassAcc && <td>{fmt(floor.classAccuracy, 3)}</td>}
              </tr>
            )}
            {settings.map((s) => (
              <tr key={s.truncation}>
                <th scope="row">model, {s.truncation}</th>
                <td>{fmt(s.fid, 1)}</td>
                <td>{fmt(s.fidOverFloor, 1)}</td>
                <td>
                  {fmt(s.precision?.mean)}
                  {s.precision && <span className="muted small"> ±{fmt(s.precision.std)}</span>}
                </td>
                <td>
                  {fmt(s.recall?.mean)}
                  {s.recall && <span className="muted small"> ±{fmt(s.recall.std)}</span>}
                </td>
                <td>{fmt(s.inceptionScore?.mean)}</td>
                {hasClassAcc && <td>{fmt(s.classAccuracy, 3)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {evaluation.likelihood?.heldOut && (
        <p className="small">
          Likelihood on held-out images: ELBO {fmt(evaluation.likelihood.heldOut.elbo, 1)}
          {evaluation.likelihood.heldOut.iwNll !== undefined && `, importance-weighted −log p(x) ${fmt(evaluation.likelihood.heldOut.iwNll, 1)} (k = ${evaluation.likelihood.k ?? '?'})`} {evaluation.likelihood.unit ?? ''}
        </p>
      )}
      {psiSettings.length >= 2 && (
        <div className="sweep">
          <div>
            <h3 className="sub-title">Truncation sweep: FID (lower is better)</h3>
            <LineChart
              label="FID by truncation psi"
              xLabel="psi"
              series={[
                { name: 'FID', color: '#5b4ee6', points: psiSettings.map((x) => [x.psi, x.s.fid ?? NaN]) },
                ...(floor?.fid !== undefined ? [{ name: 'floor', color: '#9aa1b5', points: psiSettings.map((x) => [x.psi, floor.fid!] as [number, number]) }] : []),
              ]}
              xTicks={psiSettings.map((x) => ({ x: x.psi, text: String(x.psi) }))}
              testId="sweep-fid"
            />
          </div>
          <div>
            <h3 className="sub-title">Precision and recall</h3>
            <LineChart
              label="precision and recall by truncation psi"
              xLabel="psi"
              series={[
                { name: 'precision', color: '#17a3a0', points: psiSettings.map((x) => [x.psi, x.s.precision?.mean ?? NaN]) },
                { name: 'recall', color: '#f58231', points: psiSettings.map((x) => [x.psi, x.s.recall?.mean ?? NaN]) },
              ]}
              xTicks={psiSettings.map((x) => ({ x: x.psi, text: String(x.psi) }))}
            />
          </div>
        </div>
      )}
      {evaluation.evaluatedAt && (
        <p className="muted small">
          Evaluated {new Date(evaluation.evaluatedAt).toLocaleString()} {evaluation.command && <code>{evaluation.command}</code>}
        </p>
      )}
    </div>
  );
}
