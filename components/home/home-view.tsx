'use client';

/**
 * The start page: the models (cards, headline metrics beside their floors, sample grids) with
 * "create a room" for each, the rooms this browser created or opened, and a form that starts a
 * training job and links to its model's live page.
 */
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { ModelListSchema, type ModelListEntry } from '@/lib/protocol/models';
import { createRoomOnServer } from '@/lib/realtime/create-room';
import { displayName, forgetRoom, listSavedRooms, rememberRoom, roomLink, setDisplayName, type SavedRoom } from '@/lib/stores/saved-rooms';
import { MetricSummary } from '@/components/model/metric-summary';
import { TrainForm } from './train-form';

type Models = { status: 'loading' } | { status: 'ok'; models: ModelListEntry[] } | { status: 'error'; message: string };

export function HomeView() {
  const router = useRouter();
  const [models, setModels] = useState<Models>({ status: 'loading' });
  const [rooms, setRooms] = useState<SavedRoom[]>([]);
  const [name, setName] = useState('');
  const [creating, setCreating] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    queueMicrotask(() => {
      setRooms(listSavedRooms());
      setName(displayName());
    });
    const abort = new AbortController();
    void fetch('/api/models', { signal: abort.signal })
      .then(async (r) => {
        const parsed = ModelListSchema.safeParse(await r.json());
        setModels(parsed.success ? { status: 'ok', models: parsed.data.models } : { status: 'error', message: 'the server answered something unexpected' });
      })
      .catch((err: unknown) => !abort.signal.aborted && setModels({ status: 'error', message: err instanceof Error ? err.message : String(err) }));
    return () => abort.abort();
  }, []);

  async function create(m: ModelListEntry) {
    setCreating(m.id);
    setError(null);
    const label = `${m.name ?? m.card?.name ?? m.id} room`;
    const res = await createRoomOnServer(m.id, label);
    if (!res.ok) {
      setCreating(null);
      setError(res.error === 'rate-limited' ? 'Too many rooms at once: wait a few seconds and try again.' : `Could not create a room: ${res.message ?? res.error}`);
      return;
    }
    rememberRoom({ roomId: res.data.roomId, name: label, modelId: m.id, editorToken: res.data.editorToken, viewerToken: res.data.viewerToken });
    router.push(`/rooms/${res.data.roomId}#t=${res.data.editorToken}`);
  }

  const trained = models.status === 'ok' ? models.models.filter((m) => m.trained !== false) : [];
  const untrained = models.status === 'ok' ? models.models.filter((m) => m.trained === false) : [];

  return (
    <main className="page wide">
      <header className="hero hero-row">
        <div>
          <h1 className="brand">
            <span className="brand-mark" aria-hidden="true" />
            Latentroom
          </h1>
          <p className="tagline">Explore the latent space of generative image models together, in real time, in shared rooms.</p>
        </div>
        <label className="field name-field">
          <span>Your name in rooms</span>
          <input
            value={name}
            maxLength={40}
            onChange={(e) => {
              setName(e.target.value);
              setDisplayName(e.target.value);
            }}
            data-testid="display-name"
          />
        </label>
      </header>

      {error && (
        <div className="banner banner-bad" role="alert">
          {error}
        </div>
      )}

      {rooms.length > 0 && (
        <section className="section" aria-labelledby="rooms-title">
          <h2 id="rooms-title">Your rooms</h2>
          <ul className="room-list">
            {rooms.map((r) => (
              <li key={r.roomId} className="card room-item">
                <div className="stack">
                  <a href={`/rooms/${r.roomId}#t=${r.editorToken ?? r.viewerToken ?? ''}`} className="room-item-name">
                    {r.name}
                  </a>
                  <span className="muted small">
                    {r.modelId} · {r.editorToken ? 'editor' : 'viewer'} · opened {new Date(r.openedAt).toLocaleString()}
                  </span>
                </div>
                <div className="row wrap">
                  {r.viewerToken && (
                    <button type="button" className="btn btn-small" onClick={() => void navigator.clipboard?.writeText(roomLink(window.location.origin, r.roomId, r.viewerToken!))}>
                      Copy viewer link
                    </button>
                  )}
                  <button
                    type="button"
                    className="btn btn-small btn-quiet"
                    onClick={() => {
                      forgetRoom(r.roomId);
                      setRooms(listSavedRooms());
                    }}
                  >
                    Forget
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section className="section" aria-labelledby="models-title" aria-busy={models.status === 'loading'}>
        <h2 id="models-title">Models</h2>
        {models.status === 'loading' && <p className="loading">Loading the models…</p>}
        {models.status === 'error' && <p className="bad-text">The models could not be listed: {models.message}</p>}
        <ul className="model-grid">
          {[...trained, ...untrained].map((m) => {
            const card = m.card;
            return (
              <li key={m.id} className="card model-card" data-testid={`model-${m.id}`}>
                <div className="model-card-head">
                  {m.hasSamples ? (
                    <img className="model-samples" src={`/api/models/${m.id}/samples.png`} alt={`samples of ${m.id}`} width={96} height={96} loading="lazy" />
                  ) : (
                    <span className="model-samples model-samples-none" aria-hidden="true" />
                  )}
                  <div className="stack tight">
                    <h3 className="model-name">
                      <a href={`/models/${m.id}`}>{m.name ?? card?.name ?? m.id}</a>
                    </h3>
                    <span className="muted small mono">{m.id}</span>
                    <span className="small">
                      <span className="tag">{m.family}</span> {m.dataset ?? card?.dataset ?? (m.trained === false ? 'untrained (random weights)' : '')}
                    </span>
                    <span className="muted small">
                      z ∈ ℝ<sup>{m.latentDim}</sup>
                      {m.numClasses ? ` · ${m.numClasses} classes` : ''}
                      {card?.steps !== undefined ? ` · ${card.steps.toLocaleString()} steps` : ''}
                    </span>
                  </div>
                </div>
                <MetricSummary summary={card?.metrics?.summary} compact />
                <div className="row">
                  <button type="button" className="btn btn-primary" onClick={() => void create(m)} disabled={creating !== null} data-testid={`create-room-${m.id}`}>
                    {creating === m.id ? 'Creating…' : 'Create a room'}
                  </button>
                  <a className="btn" href={`/models/${m.id}`}>
                    Details
                  </a>
                </div>
              </li>
            );
          })}
        </ul>
      </section>

      <section className="section" aria-labelledby="train-title">
        <h2 id="train-title">Train a model</h2>
        <TrainForm />
      </section>

      <footer className="foot">
        <a href="/about">Server status</a> · <a href="/import">Import a TF.js model</a>
      </footer>
    </main>
  );
}
