'use client';

/**
 * The room's history (SPEC O12–O15): the op log, a scrubber that previews any loaded version
 * without changing the room, and, for editors, "Revert to this version" (a `revert` op: every
 * member sees it, undo takes it back) and "Branch from this version" (a new room starting there,
 * opened with its editor link and remembered like a created room). Viewers see the history; the
 * two buttons are disabled for them, with why. Closed, it asks the server for nothing.
 */
import { useEffect, useRef, useState } from 'react';
import type { Role } from '@/lib/protocol/rooms';
import { authorName, entryAt } from '@/lib/stores/history';
import { rememberRoom } from '@/lib/stores/saved-rooms';
import { useExplorer } from '@/components/providers/explorer-provider';
import { HistoryList } from './history-list';
import { HistoryScrubber } from './history-scrubber';

/** New versions are fetched at most this often. */
const REFRESH_INTERVAL_MS = 250;

export interface HistoryPanelProps {
  /** The room's display name (a branch is named after it). */
  roomName: string;
  modelId: string;
  role: Role;
  /** Not joined, not live: nothing can be sent. */
  offline: boolean;
}

export function HistoryPanel(props: HistoryPanelProps) {
  const [open, setOpen] = useState(false);
  return (
    <section className="card" aria-labelledby="history-title">
      <div className="card-head">
        <h2 id="history-title" className="card-title">
          History
        </h2>
        <button type="button" className="btn btn-small" aria-expanded={open} aria-controls="history-body" onClick={() => setOpen(!open)} data-testid="history-toggle">
          {open ? 'Hide' : 'Show'} history
        </button>
      </div>
      {open ? <HistoryBody {...props} /> : <p className="muted small">Every version of the room: scrub back through them, revert to one, or branch a new room from it.</p>}
    </section>
  );
}

function HistoryBody({ roomName, modelId, role, offline }: HistoryPanelProps) {
  const history = useExplorer((s) => s.history);
  const preview = useExplorer((s) => s.historyPreview);
  const liveVersion = useExplorer((s) => s.room?.version ?? 0);
  const members = useExplorer((s) => s.room?.members ?? []);
  const loadHistory = useExplorer((s) => s.loadHistory);
  const loadOlder = useExplorer((s) => s.loadOlderHistory);
  const previewVersion = useExplorer((s) => s.previewVersion);
  const revertTo = useExplorer((s) => s.revertTo);
  const branchFrom = useExplorer((s) => s.branchFrom);
  const [busy, setBusy] = useState<'revert' | 'branch' | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string; link?: string } | null>(null);

  // Loaded when opened, then brought up to date as versions arrive: at most once per
  // REFRESH_INTERVAL_MS (a drag makes tens of versions a second), always ending on the newest.
  const refresh = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const loaded = history.entries.length > 0;
  useEffect(() => {
    if (offline || refresh.current) return;
    refresh.current = setTimeout(
      () => {
        refresh.current = undefined;
        void loadHistory();
      },
      loaded ? REFRESH_INTERVAL_MS : 0,
    );
  }, [liveVersion, offline, loaded, loadHistory]);
  useEffect(
    () => () => {
      clearTimeout(refresh.current);
      refresh.current = undefined;
    },
    [],
  );

  // Closing the panel goes back to live.
  useEffect(() => () => previewVersion(null), [previewVersion]);

  const newest = history.entries[0]?.version ?? liveVersion;
  const oldest = history.entries.at(-1)?.version ?? liveVersion;
  const target = preview ?? liveVersion;
  const entry = entryAt(history, target);
  const isEditor = role === 'editor';
  const why = !isEditor ? 'Viewers can look through the history; reverting and branching are for editors.' : offline ? 'Not connected to the room.' : null;
  const canRevert = why === null && preview !== null && busy === null;
  const canBranch = why === null && busy === null;

  async function revert(version: number) {
    setBusy('revert');
    const res = await revertTo(version);
    setBusy(null);
    setOutcome(res.ok ? { ok: true, text: `Reverted to v${version}: the room is now at v${res.data.version}. Undo takes it back.` } : { ok: false, text: `Could not revert to v${version}: ${res.message ?? res.error}. Nothing changed.` });
  }

  async function branch(version: number) {
    setBusy('branch');
    const name = `${roomName} · from v${version}`.slice(0, 100);
    const res = await branchFrom(version, name);
    if (!res.ok) {
      setBusy(null);
      setOutcome({ ok: false, text: `Could not branch from v${version}: ${res.message ?? res.error}. Nothing changed.` });
      return;
    }
    const { roomId, editorToken, viewerToken } = res.data;
    rememberRoom({ roomId, name, modelId, editorToken, viewerToken });
    const link = `/rooms/${encodeURIComponent(roomId)}#t=${editorToken}`;
    setOutcome({ ok: true, text: `Branched from v${version}: opening the new room…`, link });
    // A full load, not a client-side route change: this page's store and socket belong to this room.
    window.location.assign(link);
  }

  return (
    <div className="stack" id="history-body" data-testid="history">
      {history.entries.length === 0 ? (
        <p className="muted small" role="status">
          {history.error ? '' : 'Loading the history…'}
        </p>
      ) : (
        <>
          <HistoryScrubber
            modelId={modelId}
            newest={newest}
            oldest={oldest}
            liveVersion={liveVersion}
            preview={preview}
            entry={entry}
            author={entry && authorName(entry, members)}
            onPreview={previewVersion}
          />
          <div className="row wrap">
            <button type="button" className="btn" disabled={!canRevert} onClick={() => preview !== null && void revert(preview)} aria-describedby={why ? 'history-why' : undefined} data-testid="history-revert">
              {busy === 'revert' ? 'Reverting…' : preview === null ? 'Revert to this version' : `Revert to v${preview}`}
            </button>
            <button type="button" className="btn" disabled={!canBranch} onClick={() => void branch(target)} aria-describedby={why ? 'history-why' : undefined} data-testid="history-branch">
              {busy === 'branch' ? 'Branching…' : `Branch from v${target}`}
            </button>
          </div>
          {why ? (
            <p className="hint" id="history-why" data-testid="history-why">
              {why}
            </p>
          ) : (
            preview === null && <p className="hint">Pick a past version (scrubber or list) to revert to it; branching from live copies the room as it is.</p>
          )}
          <HistoryList entries={history.entries} members={members} liveVersion={liveVersion} selected={target} onSelect={previewVersion} />
          {!history.complete && (
            <button type="button" className="btn btn-small btn-quiet" disabled={history.loading.older || offline} onClick={() => void loadOlder()} data-testid="history-older">
              {history.loading.older ? 'Loading…' : `Load versions before v${oldest}`}
            </button>
          )}
        </>
      )}
      {history.error && (
        <p className="bad-text small" role="alert" data-testid="history-error">
          Could not read the history: {history.error}.{' '}
          <button type="button" className="link-button" onClick={() => void loadHistory()}>
            Try again
          </button>
        </p>
      )}
      {outcome && (
        <p className={outcome.ok ? 'good-text small' : 'bad-text small'} role={outcome.ok ? 'status' : 'alert'} data-testid="history-outcome">
          {outcome.text}
          {outcome.link && (
            <>
              {' '}
              <a href={outcome.link}>Open it</a>
            </>
          )}
        </p>
      )}
    </div>
  );
}
