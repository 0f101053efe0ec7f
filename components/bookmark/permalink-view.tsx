'use client';

/**
 * A bookmark's permalink page: its image (decoded by the server from the bookmark's z, psi and
 * class), its provenance (model and weights, psi, class, the room and the ops that led to it) and
 * "open in a new room", which starts a room at the bookmark's state.
 */
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { bookmarkImageUrl, bookmarkUrl, PermalinkSchema, type Permalink } from '@/lib/realtime/bookmark-api';
import { createRoomOnServer } from '@/lib/realtime/create-room';
import { rememberRoom } from '@/lib/stores/saved-rooms';

type State = { status: 'loading' } | { status: 'ok'; data: Permalink } | { status: 'missing' } | { status: 'error'; message: string };

export function PermalinkView({ id }: { id: string }) {
  const router = useRouter();
  const [state, setState] = useState<State>({ status: 'loading' });
  const [opening, setOpening] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      try {
        const r = await fetch(bookmarkUrl(id), { signal: abort.signal });
        if (r.status === 404) return setState({ status: 'missing' });
        const parsed = PermalinkSchema.safeParse(await r.json());
        setState(parsed.success ? { status: 'ok', data: parsed.data } : { status: 'error', message: 'unexpected answer from the server' });
      } catch (err) {
        if (!abort.signal.aborted) setState({ status: 'error', message: err instanceof Error ? err.message : String(err) });
      }
    })();
    return () => abort.abort();
  }, [id]);

  if (state.status === 'loading') return <main className="page"><p className="loading">Loading the bookmark…</p></main>;
  if (state.status === 'missing')
    return (
      <main className="page">
        <h1>No such bookmark</h1>
        <p>This permalink does not name a bookmark on this server. <a href="/">Start page</a></p>
      </main>
    );
  if (state.status === 'error') return <main className="page"><p className="bad-text">The bookmark could not be read: {state.message}</p></main>;

  const { bookmark: b, provenance: p } = state.data;
  const weightsChanged = p.model.weightsHash && b.weightsHash && p.model.weightsHash !== b.weightsHash;
  return (
    <main className="page wide">
      <header className="room-head">
        <a href="/" className="home-link" aria-label="Latentroom home">
          <span className="brand-mark" aria-hidden="true" />
        </a>
        <div className="room-title">
          <h1 data-testid="bookmark-title">{b.name}</h1>
          <span className="muted small">a bookmark in the latent space of <a href={`/models/${b.modelId}`}>{p.model.name ?? b.modelId}</a></span>
        </div>
      </header>
      <div className="permalink">
        <figure className="card permalink-image">
          <img src={bookmarkImageUrl(b.id)} alt={`the image of bookmark ${b.name}`} data-testid="bookmark-image" />
          <figcaption className="muted small">decoded by the server from the bookmark's latent, psi and class</figcaption>
        </figure>
        <section className="card" aria-labelledby="prov-title">
          <h2 id="prov-title" className="card-title">
            Provenance
          </h2>
          <dl className="facts" data-testid="provenance">
            <div className="fact">
              <dt>model</dt>
              <dd>
                <span className="mono">{p.model.id}</span> <span className="muted">({p.model.family}{p.model.steps !== undefined ? `, ${p.model.steps.toLocaleString()} steps` : ''})</span>
              </dd>
            </div>
            <div className="fact">
              <dt>weights</dt>
              <dd className="mono small">{(b.weightsHash || p.model.weightsHash) ? `sha256 ${(b.weightsHash || p.model.weightsHash).slice(0, 16)}…` : 'built-in (no hash)'}</dd>
            </div>
            {weightsChanged && (
              <div className="fact">
                <dt>note</dt>
                <dd className="bad-text">The model was retrained since: this image comes from its current weights.</dd>
              </div>
            )}
            <div className="fact">
              <dt>psi</dt>
              <dd>{b.psi.toFixed(2)}</dd>
            </div>
            <div className="fact">
              <dt>class</dt>
              <dd>{b.classLabel === null ? 'none (unconditional)' : b.classLabel}</dd>
            </div>
            <div className="fact">
              <dt>latent</dt>
              <dd className="mono small">
                {b.z.length} values: [{b.z.slice(0, 4).map((v) => v.toFixed(3)).join(', ')}, …]
              </dd>
            </div>
            {b.tags.length > 0 && (
              <div className="fact">
                <dt>tags</dt>
                <dd className="tags">
                  {b.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </dd>
              </div>
            )}
            <div className="fact">
              <dt>made</dt>
              <dd>
                {b.createdAt ? new Date(b.createdAt).toLocaleString() : 'at an unknown time'}
                {b.roomId ? ` in room ${b.roomId}` : ''}
                {b.version !== null && b.version !== undefined ? ` at version ${b.version}` : ''}
              </dd>
            </div>
            {p.backend && (
              <div className="fact">
                <dt>engine</dt>
                <dd>{p.backend}</dd>
              </div>
            )}
          </dl>
          {p.ops.length > 0 && (
            <details>
              <summary>How it was made: the last {p.ops.length} ops</summary>
              <ol className="ops mono small">
                {p.ops.map((o) => (
                  <li key={o.version}>
                    v{o.version} {o.kind} <span className="muted">by {o.by} at {new Date(o.at).toLocaleTimeString()}</span>
                  </li>
                ))}
              </ol>
            </details>
          )}
          {error && (
            <p className="bad-text" role="alert">
              {error}
            </p>
          )}
          <div>
            <button
              type="button"
              className="btn btn-primary"
              disabled={opening}
              onClick={async () => {
                setOpening(true);
                const name = `From “${b.name}”`;
                const res = await createRoomOnServer(b.modelId, name, { bookmarkId: b.id, z: b.z, psi: b.psi, classLabel: b.classLabel });
                if (!res.ok) {
                  setOpening(false);
                  return setError(`Could not open a room: ${res.message ?? res.error}`);
                }
                rememberRoom({ roomId: res.data.roomId, name, modelId: b.modelId, editorToken: res.data.editorToken, viewerToken: res.data.viewerToken });
                router.push(`/rooms/${res.data.roomId}#t=${res.data.editorToken}`);
              }}
            >
              {opening ? 'Opening…' : 'Open in a new room'}
            </button>
          </div>
        </section>
      </div>
    </main>
  );
}
