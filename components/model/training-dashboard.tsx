'use client';

/**
 * A training job, live: Server-Sent Events from /api/training-jobs/:id/events (docs/training.md)
 * feed the step counter, the loss curve of every network, the newest sample grid, images/s and
 * the ETA; Cancel stops the job after its step (a checkpoint is kept).
 */
import { useEffect, useState } from 'react';
import { z } from 'zod';
import { LineChart } from './line-chart';

export const JobSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    spec: z.object({ modelId: z.string(), family: z.string(), dataset: z.string(), steps: z.number() }).loose(),
    progress: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
  })
  .loose();
export type Job = z.infer<typeof JobSchema>;

const EventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job'), job: JobSchema }),
  z.object({ type: z.literal('started'), step: z.number(), totalSteps: z.number(), resumed: z.boolean(), backend: z.string() }),
  z.object({ type: z.literal('progress'), step: z.number(), totalSteps: z.number(), losses: z.record(z.string(), z.number()), imagesPerSec: z.number(), etaMs: z.number(), elapsedMs: z.number() }),
  z.object({ type: z.literal('samples'), step: z.number(), png: z.string() }),
  z.object({ type: z.literal('checkpoint'), step: z.number() }),
  z.object({ type: z.literal('done'), step: z.number(), modelId: z.string() }).loose(),
  z.object({ type: z.literal('failed'), step: z.number(), error: z.string() }).loose(),
  z.object({ type: z.literal('cancelled'), step: z.number() }),
]);

/** Loss points kept per network (older ones thinned out). */
const MAX_POINTS = 400;
const LOSS_COLORS = ['#5b4ee6', '#e6194b', '#17a3a0', '#f58231', '#3cb44b', '#911eb4'];

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

interface Live {
  status: Job['status'];
  step: number;
  total: number;
  losses: Record<string, [number, number][]>;
  imagesPerSec: number | null;
  etaMs: number | null;
  elapsedMs: number | null;
  samples: string | null;
  samplesStep: number | null;
  checkpointStep: number | null;
  error: string | null;
  backend: string | null;
}

function fromJob(job: Job): Live {
  const p = job.progress ?? {};
  const num = (k: string) => (typeof p[k] === 'number' ? (p[k] as number) : null);
  return {
    status: job.status,
    step: num('step') ?? 0,
    total: num('totalSteps') ?? job.spec.steps,
    losses: {},
    imagesPerSec: num('imagesPerSec'),
    etaMs: num('etaMs'),
    elapsedMs: num('elapsedMs'),
    samples: null,
    samplesStep: null,
    checkpointStep: num('checkpointStep'),
    error: job.error,
    backend: typeof p['backend'] === 'string' ? (p['backend'] as string) : null,
  };
}

export function TrainingDashboard({ job, onEnded }: { job: Job; onEnded(): void }) {
  const [live, setLive] = useState<Live>(() => fromJob(job));
  const [cancelling, setCancelling] = useState(false);
  const active = live.status === 'queued' || live.status === 'running';

  useEffect(() => {
    const source = new EventSource(`/api/training-jobs/${job.id}/events`);
    source.onmessage = (msg) => {
      let data: unknown;
      try {
        data = JSON.parse(msg.data as string);
      } catch {
        return;
      }
      const parsed = EventSchema.safeParse(data);
      if (!parsed.success) return;
      const e = parsed.data;
      setLive((l) => {
        switch (e.type) {
          case 'job':
            return { ...fromJob(e.job), losses: l.losses, samples: l.samples, samplesStep: l.samplesStep };
          case 'started':
            return { ...l, status: 'running', step: e.step, total: e.totalSteps, backend: e.backend };
          case 'progress': {
            const losses = { ...l.losses };
            for (const [k, v] of Object.entries(e.losses)) {
              const pts = [...(losses[k] ?? []), [e.step, v] as [number, number]];
              losses[k] = pts.length > MAX_POINTS ? pts.filter((_, i) => i % 2 === 0 || i === pts.length - 1) : pts;
            }
            return { ...l, status: 'running', step: e.step, total: e.totalSteps, losses, imagesPerSec: e.imagesPerSec, etaMs: e.etaMs, elapsedMs: e.elapsedMs };
          }
          case 'samples':
            return { ...l, samples: `data:image/png;base64,${e.png}`, samplesStep: e.step };
          case 'checkpoint':
            return { ...l, checkpointStep: e.step };
          case 'done':
            return { ...l, status: 'succeeded', step: e.step, etaMs: 0 };
          case 'failed':
            return { ...l, status: 'failed', error: e.error };
          case 'cancelled':
            return { ...l, status: 'cancelled', step: e.step };
        }
      });
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
        source.close();
        onEnded();
      }
    };
    // The stream ends after the terminal event; the browser would reconnect, which replays it.
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) onEnded();
    };
    return () => source.close();
  }, [job.id, onEnded]);

  const series = Object.entries(live.losses).map(([name, points], i) => ({ name, color: LOSS_COLORS[i % LOSS_COLORS.length]!, points }));
  const pct = live.total > 0 ? Math.min(100, (100 * live.step) / live.total) : 0;

  return (
    <section className="card" aria-labelledby="job-title" data-testid="training">
      <div className="card-head">
        <h2 id="job-title" className="card-title">
          Training {job.spec.family} on {job.spec.dataset}
        </h2>
        <span className={`pill ${active ? 'pill-wait' : live.status === 'succeeded' ? 'pill-good' : 'pill-bad'}`} data-testid="job-status">
          <span className="dot" aria-hidden="true" />
          {live.status}
        </span>
      </div>
      <div className="progress-line">
        <progress max={live.total} value={live.step} aria-label="training progress" />
        <span className="mono small" data-testid="job-step">
          step {live.step.toLocaleString()} / {live.total.toLocaleString()} ({pct.toFixed(1)} %)
        </span>
      </div>
      <dl className="job-facts">
        <div>
          <dt>images/s</dt>
          <dd data-testid="images-per-sec">{live.imagesPerSec === null ? '–' : live.imagesPerSec.toFixed(1)}</dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd>{active && live.etaMs !== null ? duration(live.etaMs) : '–'}</dd>
        </div>
        <div>
          <dt>elapsed</dt>
          <dd>{live.elapsedMs === null ? '–' : duration(live.elapsedMs)}</dd>
        </div>
        <div>
          <dt>checkpoint</dt>
          <dd>{live.checkpointStep === null ? '–' : `step ${live.checkpointStep}`}</dd>
        </div>
      </dl>
      {live.error && (
        <p className="bad-text" role="alert">
          {live.error}
        </p>
      )}
      <div className="dashboard-grid">
        <div data-testid="loss-chart">
          <h3 className="sub-title">Losses by step</h3>
          {series.length === 0 && <p className="muted small">The first losses come with the first progress event.</p>}
          <div className="loss-grid">
            {series.map((s) => (
              <div key={s.name}>
                <h4 className="chart-name">{s.name}</h4>
                <LineChart series={[s]} label={`${s.name} by step`} small />
              </div>
            ))}
          </div>
        </div>
        <div>
          <h3 className="sub-title">Samples {live.samplesStep !== null && <span className="muted small">at step {live.samplesStep}</span>}</h3>
          {live.samples ? <img className="grid-image" src={live.samples} alt={`sample grid at step ${live.samplesStep}`} data-testid="live-samples" /> : <p className="muted small">The first grid comes at the first sampling step.</p>}
        </div>
      </div>
      {active && (
        <div>
          <button
            type="button"
            className="btn"
            disabled={cancelling}
            onClick={async () => {
              setCancelling(true);
              const res = await fetch(`/api/training-jobs/${job.id}/cancel`, { method: 'POST' }).catch(() => undefined);
              if (!res?.ok) setCancelling(false);
            }}
          >
            {cancelling ? 'Cancelling…' : 'Cancel training'}
          </button>
        </div>
      )}
    </section>
  );
}
