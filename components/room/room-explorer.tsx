'use client';

/**
 * The explorer page of one room: joins with the link's token (from the URL fragment, so it never
 * reaches the server's logs), then lays out the image, the 3D view, the controls, the members,
 * the bookmarks and the share links. Viewers see every control disabled, with why.
 */
import { useEffect, useState } from 'react';
import { z } from 'zod';
import { ModelSummarySchema, type ModelSummaryInfo } from '@/lib/protocol/models';
import { connectRoom } from '@/lib/realtime/room-connection';
import { displayName, listSavedRooms, rememberRoom, tokenFromLocation, type SavedRoom } from '@/lib/stores/saved-rooms';
import { ExplorerProvider, useExplorer, useExplorerStore } from '@/components/providers/explorer-provider';
import { ScenePanel } from '@/components/scene/scene-panel';
import { ArithmeticBuilder } from './arithmetic-builder';
import { BasicControls } from './basic-controls';
import { BookmarksPanel } from './bookmarks-panel';
import { ConnectionBanner, ConnectionPill } from './connection-banner';
import { DirectionSliders } from './direction-sliders';
import { DirectionTools } from './direction-tools';
import { HistoryPanel } from './history-panel';
import { ImagePanel } from './image-panel';
import { InterpolationPanel } from './interpolation-panel';
import { MembersList } from './members-list';
import { ShareLinks } from './share-links';
import { testHook } from './test-hook';

export function RoomExplorer({ roomId }: { roomId: string }) {
  return (
    <ExplorerProvider>
      <Room roomId={roomId} />
    </ExplorerProvider>
  );
}

const ModelAnswer = z.object({ ok: z.literal(true), model: ModelSummarySchema });

function Room({ roomId }: { roomId: string }) {
  const store = useExplorerStore();
  const [token, setToken] = useState<string | null | undefined>(undefined);
  const [saved, setSaved] = useState<SavedRoom | undefined>(undefined);
  const [model, setModel] = useState<ModelSummaryInfo | undefined>(undefined);
  const room = useExplorer((s) => s.room);
  const status = useExplorer((s) => s.connection.status);
  const [tab, setTab] = useState<'directions' | 'arithmetic' | 'interpolate'>('directions');

  // The token lives in the fragment; read it after hydration (the server never sees it).
  useEffect(() => {
    const t = tokenFromLocation(window.location);
    const known = listSavedRooms().find((r) => r.roomId === roomId);
    queueMicrotask(() => {
      setSaved(known);
      setToken(t ?? known?.editorToken ?? known?.viewerToken ?? null);
    });
  }, [roomId]);

  useEffect(() => {
    if (!token) return;
    const connection = connectRoom({
      roomId,
      token,
      name: displayName(),
      store,
      decode: (frame) => createImageBitmap(new Blob([frame.data as BlobPart], { type: 'image/png' })),
    });
    const hook = testHook();
    hook.forceOp = (op) => connection.port.sendOp(op);
    hook.forceDiscover = (req) => store.getState().discover(req);
    const unsubscribe = store.subscribe((s) => {
      hook.roomVersion = s.room?.version ?? -1;
      hook.roomZ = s.room?.z ?? null;
      hook.lastFrameVersion = s.frame?.version ?? -1;
    });
    return () => {
      unsubscribe();
      connection.dispose();
    };
  }, [roomId, token, store]);

  // Remember the room and the link it was opened with (by role, once the server said which).
  const role = room?.role;
  const modelId = room?.modelId;
  useEffect(() => {
    if (!token || !role || !modelId) return;
    const entry = { roomId, name: saved?.name ?? `Room ${roomId.slice(0, 6)}`, modelId, ...(role === 'editor' ? { editorToken: token } : { viewerToken: token }) };
    rememberRoom(entry);
    queueMicrotask(() => setSaved(listSavedRooms().find((r) => r.roomId === roomId)));
    // saved?.name only names the entry; no need to re-run when it changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token, role, modelId, roomId]);

  useEffect(() => {
    if (!modelId) return;
    const abort = new AbortController();
    void fetch(`/api/models/${encodeURIComponent(modelId)}`, { signal: abort.signal })
      .then(async (r) => ModelAnswer.safeParse(await r.json()))
      .then((p) => p.success && setModel(p.data.model))
      .catch(() => undefined);
    return () => abort.abort();
  }, [modelId]);

  if (token === null) {
    return (
      <main className="page narrow">
        <h1>This link has no key</h1>
        <p>
          A room link ends with <code>#t=…</code>: the key that lets you in. Ask whoever shared it for the whole link, or <a href="/">start a room of your own</a>.
        </p>
      </main>
    );
  }

  const isViewer = room?.role === 'viewer';
  const disabled = !room || status !== 'live' || isViewer;
  const title = saved?.name ?? `Room ${roomId.slice(0, 6)}`;

  return (
    <main className="room" aria-busy={!room}>
      <header className="room-head">
        <a href="/" className="home-link" aria-label="Latentroom home">
          <span className="brand-mark" aria-hidden="true" />
        </a>
        <div className="room-title">
          <h1>{title}</h1>
          {room && (
            <span className="muted small">
              <a href={`/models/${room.modelId}`}>{model?.name ?? room.modelId}</a> · {model?.family ?? ''} · z ∈ ℝ<sup>{room.latentDim}</sup> · v{room.version}
            </span>
          )}
        </div>
        <span className="spacer" />
        {isViewer && (
          <span className="pill pill-wait" data-testid="viewer-badge">
            viewing only
          </span>
        )}
        <ConnectionPill />
      </header>
      <ConnectionBanner />
      {isViewer && (
        <p className="banner banner-info" data-testid="viewer-note">
          You joined with a viewer link: you see everything live and your pointer shows to the others, but the controls are for editors. Ask for the editor link to steer.
        </p>
      )}
      {!room && status !== 'failed' && <p className="loading">Joining the room…</p>}
      {room && (
        <div className="room-grid">
          <div className="room-main">
            <ScenePanel modelId={room.modelId} canSteer={!disabled} />
            <section className="card" aria-label="more ways to steer">
              <div className="tabs" role="tablist" aria-label="tools">
                {(
                  [
                    ['directions', 'Directions'],
                    ['arithmetic', 'Arithmetic'],
                    ['interpolate', 'Interpolate'],
                  ] as const
                ).map(([key, label]) => (
                  <button key={key} type="button" role="tab" id={`tab-${key}`} aria-selected={tab === key} aria-controls={`panel-${key}`} className={tab === key ? 'tab on' : 'tab'} onClick={() => setTab(key)}>
                    {label}
                  </button>
                ))}
              </div>
              <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel">
                {tab === 'directions' && (
                  <>
                    <DirectionTools
                      modelId={room.modelId}
                      family={model?.family}
                      disabledReason={isViewer ? 'You joined with a viewer link: only editors can find directions or steer toward an attribute.' : disabled ? 'Not connected to the room: this comes back once it is live again.' : null}
                    />
                    <DirectionSliders disabled={disabled} />
                  </>
                )}
                {tab === 'arithmetic' && <ArithmeticBuilder disabled={disabled} />}
                {tab === 'interpolate' && <InterpolationPanel disabled={disabled} modelId={room.modelId} />}
              </div>
            </section>
          </div>
          <aside className="room-side">
            <section className="card image-card" aria-label="the room's image">
              <ImagePanel />
            </section>
            <BasicControls disabled={disabled} classNames={model?.classNames} />
            <HistoryPanel roomName={title} modelId={room.modelId} role={room.role} offline={status !== 'live'} />
            <MembersList />
            <BookmarksPanel disabled={disabled} modelId={room.modelId} />
            <ShareLinks saved={saved} onTokens={() => setSaved(listSavedRooms().find((r) => r.roomId === roomId))} />
          </aside>
        </div>
      )}
    </main>
  );
}
