/**
 * The history slice of the explorer store (SPEC O12–O15): the loaded op log, the version being
 * previewed by the scrubber, and the intents that read the log, revert to a version and branch
 * from one. Reading and branching go through a HistoryPort (lib/realtime/room-connection.ts
 * serves it); a revert is an ordinary op, sent through the store's `steer` like every other.
 * Previewing is local: it never changes the room.
 */
import type { StateCreator } from 'zustand/vanilla';
import type { Result } from '../protocol/events';
import { HISTORY_DEFAULT_LIMIT, type RoomBranchRequest, type RoomCreateResponse, type RoomHistoryRequest, type RoomHistoryResponse } from '../protocol/rooms';
import type { ExplorerState } from './explorer-store';
import { appendOlder, EMPTY_HISTORY, mergeNewest, refreshRequest, type HistoryLog } from './history';
import { describeRefusal, NO_ANSWER, NOT_CONNECTED } from './results';

/** What the slice asks of the realtime layer. */
export interface HistoryPort {
  history(req: RoomHistoryRequest): Promise<Result<RoomHistoryResponse>>;
  branch(req: RoomBranchRequest): Promise<Result<RoomCreateResponse>>;
}

export interface HistorySlice {
  history: HistoryLog & {
    /** Requests under way: for the newest entries, for older ones. */
    loading: { newest: boolean; older: boolean };
    /** Why the last read failed (cleared by the next success). */
    error: string | null;
  };
  /** The version the scrubber shows instead of the live state; null: live. */
  historyPreview: number | null;
  /** Brings the log up to the room's version (newest entries; merged with what is loaded). */
  loadHistory(): Promise<Result<RoomHistoryResponse>>;
  /** Pages in the entries older than the oldest loaded one. */
  loadOlderHistory(): Promise<Result<RoomHistoryResponse>>;
  previewVersion(version: number | null): void;
  /** Sends `revert { version }` (an op: undo takes it back); back to live once acked. */
  revertTo(version: number): Promise<Result<{ version: number }>>;
  /** Asks for a new room starting at `version` (O15); the caller opens it. */
  branchFrom(version: number, name?: string): Promise<Result<RoomCreateResponse>>;
  bindHistory(port: HistoryPort | undefined): void;
}

export function historySlice(): StateCreator<ExplorerState, [], [], HistorySlice> {
  let port: HistoryPort | undefined;
  // A read answered after a newer one of its kind started is dropped (that one is fresher).
  const readSeq = { newest: 0, older: 0 };
  return (set, get) => {
    async function read(req: RoomHistoryRequest, kind: 'newest' | 'older'): Promise<Result<RoomHistoryResponse>> {
      if (!port) return NOT_CONNECTED;
      const seq = ++readSeq[kind];
      set((st) => ({ history: { ...st.history, loading: { ...st.history.loading, [kind]: true } } }));
      const res = await port.history(req).catch(() => NO_ANSWER);
      if (seq !== readSeq[kind]) return res;
      const limit = req.limit ?? HISTORY_DEFAULT_LIMIT;
      set((st) => {
        const { loading, error: _e, ...log } = st.history;
        const done = { ...loading, [kind]: false };
        if (!res.ok) return { history: { ...st.history, loading: done, error: describeRefusal(res) } };
        const next = kind === 'newest' ? mergeNewest(log, res.data.entries, limit) : appendOlder(log, res.data.entries, limit);
        return { history: { ...next, loading: done, error: null } };
      });
      return res;
    }

    return {
      history: { ...EMPTY_HISTORY, loading: { newest: false, older: false }, error: null },
      historyPreview: null,
      bindHistory: (p) => {
        port = p;
      },
      loadHistory() {
        const version = get().room?.version;
        if (version === undefined) return Promise.resolve(NOT_CONNECTED);
        const { loading: _l, error: _e, ...log } = get().history;
        const req = refreshRequest(log, version);
        if (!req) return Promise.resolve({ ok: true, data: { entries: [] } });
        return read(req, 'newest');
      },
      loadOlderHistory() {
        const oldest = get().history.entries.at(-1)?.version;
        if (oldest === undefined) return get().loadHistory();
        if (get().history.complete || oldest === 0) return Promise.resolve({ ok: true, data: { entries: [] } });
        return read({ before: oldest, limit: HISTORY_DEFAULT_LIMIT }, 'older');
      },
      previewVersion: (version) => set((st) => (st.historyPreview === version ? {} : { historyPreview: version })),
      async revertTo(version) {
        const res = await get().steer({ kind: 'revert', version });
        if (res.ok) set({ historyPreview: null });
        return res;
      },
      async branchFrom(version, name) {
        if (!port) return NOT_CONNECTED;
        const res = await port.branch(name === undefined ? { version } : { version, name }).catch(() => NO_ANSWER);
        set({ lastError: res.ok ? null : describeRefusal(res) });
        return res;
      },
    };
  };
}
