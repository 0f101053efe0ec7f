/**
 * The History panel's logic (lib/stores/history.ts, lib/stores/history-slice.ts): pages of the
 * op log (SPEC O14) merge into one contiguous, newest-first list whatever order they arrive in;
 * previewing changes nothing in the room; revert is an ordinary op (O13) and branch a request
 * (O15), and a refused or unanswered one leaves the room and the log as they were.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../lib/protocol/events';
import { HISTORY_DEFAULT_LIMIT, type HistoryEntry, type LatentOp, type RoomHistoryRequest } from '../../lib/protocol/rooms';
import { createExplorerStore } from '../../lib/stores/explorer-store';
import { appendOlder, authorName, describeOp, EMPTY_HISTORY, entryAt, mergeNewest, refreshRequest, type HistoryLog } from '../../lib/stores/history';
import type { HistoryPort } from '../../lib/stores/history-slice';
import { snapshot } from './store-fixtures';

const entry = (version: number, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  version,
  kind: version === 0 ? 'create' : 'random',
  by: version === 0 ? 'server' : 'm_a',
  byName: version === 0 ? null : 'Ada',
  at: `2026-12-03T12:00:${String(version % 60).padStart(2, '0')}.000Z`,
  z: [version, -version],
  psi: 1,
  classLabel: null,
  weights: {},
  ...over,
});

/** The server's answer to `room:history` over a log of versions 0..top (SPEC O14). */
function serve(top: number, req: RoomHistoryRequest): HistoryEntry[] {
  const before = Math.min(req.before ?? Infinity, top + 1);
  const limit = req.limit ?? HISTORY_DEFAULT_LIMIT;
  const out: HistoryEntry[] = [];
  for (let v = before - 1; v >= 0 && out.length < limit; v--) out.push(entry(v));
  return out;
}

const versions = (log: HistoryLog) => log.entries.map((e) => e.version);

describe('history log reducers', () => {
  it('a first page is the log; a short page or one reaching version 0 is the whole log', () => {
    const first = mergeNewest(EMPTY_HISTORY, serve(4, { limit: 100 }), 100);
    expect(versions(first)).toEqual([4, 3, 2, 1, 0]);
    expect(first.complete).toBe(true);
    const partial = mergeNewest(EMPTY_HISTORY, serve(300, { limit: 100 }), 100);
    expect(versions(partial)).toEqual(Array.from({ length: 100 }, (_, i) => 300 - i));
    expect(partial.complete).toBe(false);
  });

  it('a newer page that meets or overlaps the loaded part is merged; a later copy of a version wins', () => {
    const log = mergeNewest(EMPTY_HISTORY, serve(300, { limit: 100 }), 100);
    const next = mergeNewest(log, [entry(303), entry(302), entry(301, { kind: 'undo' }), entry(300, { kind: 'revert' })], 4);
    expect(versions(next)).toEqual(Array.from({ length: 103 }, (_, i) => 303 - i));
    expect(next.entries[3]!.kind).toBe('revert');
    expect(next.complete).toBe(false);
  });

  it('a newer page with versions missing before it replaces the log, so the scrubber never spans a hole', () => {
    const log = mergeNewest(EMPTY_HISTORY, serve(10, { limit: 100 }), 100);
    const next = mergeNewest(log, serve(400, { limit: 100 }), 100);
    expect(versions(next)[0]).toBe(400);
    expect(versions(next).at(-1)).toBe(301);
    expect(next.complete).toBe(false);
  });

  it('an empty page changes nothing', () => {
    const log = mergeNewest(EMPTY_HISTORY, serve(3, {}), 100);
    expect(mergeNewest(log, [], 100)).toBe(log);
  });

  it('older pages append below until the start of the log', () => {
    let log = mergeNewest(EMPTY_HISTORY, serve(250, { limit: 100 }), 100);
    log = appendOlder(log, serve(250, { before: 151, limit: 100 }), 100);
    expect(versions(log).at(-1)).toBe(51);
    expect(log.complete).toBe(false);
    log = appendOlder(log, serve(250, { before: 51, limit: 100 }), 100);
    expect(versions(log)).toEqual(Array.from({ length: 251 }, (_, i) => 250 - i));
    expect(log.complete).toBe(true);
  });

  it('an older page that does not meet the loaded part is dropped', () => {
    const log = mergeNewest(EMPTY_HISTORY, serve(250, { limit: 100 }), 100);
    expect(appendOlder(log, [entry(20), entry(19)], 100)).toBe(log);
  });

  it('whatever order pages arrive in, the log is newest first, contiguous, and equal to the server\'s rows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom('grow', 'newest', 'older'), n: fc.integer({ min: 1, max: 40 }) }), { maxLength: 30 }),
        (steps) => {
          let top = 0;
          let log: HistoryLog = EMPTY_HISTORY;
          for (const s of steps) {
            if (s.kind === 'grow') top += s.n;
            else if (s.kind === 'newest') {
              const req = refreshRequest(log, top);
              if (req) log = mergeNewest(log, serve(top, { limit: Math.min(req.limit, s.n) }), Math.min(req.limit, s.n));
            } else {
              const oldest = log.entries.at(-1)?.version;
              if (oldest !== undefined && !log.complete) log = appendOlder(log, serve(top, { before: oldest, limit: s.n }), s.n);
            }
            const v = versions(log);
            v.forEach((x, i) => i > 0 && expect(v[i - 1]! - x).toBe(1));
            for (const e of log.entries) expect(e).toEqual(entry(e.version));
            if (log.complete) expect(v.at(-1)).toBe(0);
            expect(v[0] ?? 0).toBeLessThanOrEqual(top);
          }
        },
      ),
    );
  });

  it('refreshRequest asks for exactly the missing versions, a page at most, and nothing when current', () => {
    expect(refreshRequest(EMPTY_HISTORY, 7)).toEqual({ limit: HISTORY_DEFAULT_LIMIT });
    const log = mergeNewest(EMPTY_HISTORY, serve(7, {}), 100);
    expect(refreshRequest(log, 7)).toBeNull();
    expect(refreshRequest(log, 10)).toEqual({ limit: 3 });
    expect(refreshRequest(log, 5000)).toEqual({ limit: HISTORY_DEFAULT_LIMIT });
  });

  it('entryAt finds a loaded version and nothing else', () => {
    const log = mergeNewest(EMPTY_HISTORY, serve(300, { limit: 50 }), 50);
    expect(entryAt(log, 260)).toEqual(entry(260));
    expect(entryAt(log, 250)).toBeUndefined();
    expect(entryAt(log, 301)).toBeUndefined();
    expect(entryAt(EMPTY_HISTORY, 0)).toBeUndefined();
  });

  it('each op kind has its own words; authors are named from the members, the log, or as the server', () => {
    const kinds: HistoryEntry['kind'][] = ['create', 'set', 'nudge', 'lerp', 'slerp', 'sum', 'random', 'psi', 'class', 'weight', 'undo', 'redo', 'steer', 'revert'];
    const words = kinds.map(describeOp);
    expect(new Set(words).size).toBe(kinds.length);
    for (const w of words) expect(w.length).toBeGreaterThan(0);
    const members = [{ memberId: 'm_b', name: 'Bo' }];
    expect(authorName(entry(0), members)).toBe('the server');
    expect(authorName(entry(1, { by: 'm_b', byName: 'Bo (old name)' }), members)).toBe('Bo');
    expect(authorName(entry(1, { by: 'm_gone', byName: 'Cy' }), members)).toBe('Cy');
    expect(authorName(entry(1, { by: 'm_gone', byName: null }), members)).toBe('a former member');
  });
});


describe('history slice', () => {
  function setup(opts: { top: number; history?: HistoryPort['history']; branch?: HistoryPort['branch']; op?: (op: LatentOp) => Promise<Result<{ version: number }>> }) {
    const store = createExplorerStore();
    const asked: RoomHistoryRequest[] = [];
    const ops: LatentOp[] = [];
    store.getState().bindRealtime({
      sendOp: (op) => (ops.push(op), opts.op ? opts.op(op) : Promise.resolve({ ok: true, data: { version: opts.top + 1 } })),
      saveBookmark: async () => ({ ok: false, error: 'forbidden' }),
      sendPointer: () => {},
      revoke: async () => ({ ok: false, error: 'forbidden' }),
    });
    store.getState().bindHistory({
      history: (req) => (asked.push(req), opts.history ? opts.history(req) : Promise.resolve({ ok: true, data: { entries: serve(opts.top, req) } })),
      branch: opts.branch ?? (async () => ({ ok: true, data: { roomId: 'branch-aaaaaa', editorToken: 'e'.repeat(43), viewerToken: 'v'.repeat(43) } })),
    });
    store.getState().roomSnapshot(snapshot(opts.top));
    return { store, asked, ops };
  }

  it('loads the newest page, then only the versions that arrived since, then older pages on request', async () => {
    const server = { top: 150 };
    const { store, asked } = setup({ top: 150, history: async (req) => ({ ok: true, data: { entries: serve(server.top, req) } }) });
    await store.getState().loadHistory();
    expect(asked).toEqual([{ limit: HISTORY_DEFAULT_LIMIT }]);
    expect(store.getState().history.entries[0]!.version).toBe(150);
    expect(store.getState().history.entries.at(-1)!.version).toBe(51);
    // Nothing new: no request.
    await store.getState().loadHistory();
    expect(asked).toHaveLength(1);
    server.top = 152;
    store.getState().latentState({ version: 152, z: [0, 0], psi: 1, classLabel: null, weights: {} });
    await store.getState().loadHistory();
    expect(asked[1]).toEqual({ limit: 2 });
    expect(store.getState().history.entries.map((e) => e.version).slice(0, 3)).toEqual([152, 151, 150]);
    await store.getState().loadOlderHistory();
    expect(asked[2]).toEqual({ before: 51, limit: HISTORY_DEFAULT_LIMIT });
    expect(store.getState().history.complete).toBe(true);
    expect(store.getState().history.entries).toHaveLength(153);
    expect(store.getState().history.entries.at(-1)!.version).toBe(0);
  });

  it('a failed read keeps what was loaded and says why; the next success clears it', async () => {
    let fail = false;
    const server = { top: 5 };
    const { store } = setup({ top: 5, history: async (req) => (fail ? { ok: false, error: 'rate-limited', message: 'slow down' } : { ok: true, data: { entries: serve(server.top, req) } }) });
    await store.getState().loadHistory();
    const loaded = store.getState().history.entries;
    fail = true;
    server.top = 6;
    store.getState().latentState({ version: 6, z: [0, 0], psi: 1, classLabel: null, weights: {} });
    const res = await store.getState().loadHistory();
    expect(res).toEqual({ ok: false, error: 'rate-limited', message: 'slow down' });
    expect(store.getState().history.entries).toBe(loaded);
    expect(store.getState().history.error).toBe('slow down');
    expect(store.getState().history.loading).toEqual({ newest: false, older: false });
    fail = false;
    await store.getState().loadHistory();
    expect(store.getState().history.error).toBeNull();
    expect(store.getState().history.entries[0]!.version).toBe(6);
  });

  it('an unanswered read (timeout) is an error, not a crash', async () => {
    const { store } = setup({ top: 3, history: () => Promise.reject(new Error('operation has timed out')) });
    const res = await store.getState().loadHistory();
    expect(res.ok).toBe(false);
    expect(store.getState().history.error).toMatch(/no answer/);
    expect(store.getState().history.entries).toEqual([]);
  });

  it('previewing sends nothing and changes nothing in the room', async () => {
    const { store, asked, ops } = setup({ top: 9 });
    await store.getState().loadHistory();
    const room = store.getState().room;
    store.getState().previewVersion(3);
    expect(store.getState().historyPreview).toBe(3);
    expect(store.getState().room).toBe(room);
    expect(ops).toEqual([]);
    expect(asked).toHaveLength(1);
    store.getState().previewVersion(null);
    expect(store.getState().historyPreview).toBeNull();
  });

  it('revert sends the revert op and goes back to live once acked; the room changes only with the broadcast', async () => {
    const { store, ops } = setup({ top: 9 });
    store.getState().previewVersion(4);
    const res = await store.getState().revertTo(4);
    expect(res).toEqual({ ok: true, data: { version: 10 } });
    expect(ops).toEqual([{ kind: 'revert', version: 4 }]);
    expect(store.getState().historyPreview).toBeNull();
    expect(store.getState().room!.version).toBe(9);
  });

  it('a refused revert (a version the room has not reached) keeps the preview and the room, and says why', async () => {
    const { store } = setup({ top: 9, op: async () => ({ ok: false, error: 'bad-request', message: 'version 99 is not in this room' }) });
    store.getState().previewVersion(4);
    const room = store.getState().room;
    const res = await store.getState().revertTo(99);
    expect(res).toEqual({ ok: false, error: 'bad-request', message: 'version 99 is not in this room' });
    expect(store.getState().historyPreview).toBe(4);
    expect(store.getState().room).toBe(room);
    expect(store.getState().lastError).toBe('version 99 is not in this room');
  });

  it('branch asks for the version and name and answers the new room; a refusal or a timeout is an error', async () => {
    const asked: unknown[] = [];
    const { store } = setup({ top: 9, branch: async (req) => (asked.push(req), { ok: true, data: { roomId: 'branch-aaaaaa', editorToken: 'e'.repeat(43), viewerToken: 'v'.repeat(43) } }) });
    const res = await store.getState().branchFrom(3, 'Lab · from v3');
    expect(asked).toEqual([{ version: 3, name: 'Lab · from v3' }]);
    expect(res.ok && res.data.roomId).toBe('branch-aaaaaa');

    const refused = setup({ top: 9, branch: async () => ({ ok: false, error: 'forbidden' }) });
    expect(await refused.store.getState().branchFrom(3)).toEqual({ ok: false, error: 'forbidden' });
    expect(refused.store.getState().lastError).toBe('forbidden');
    const lost = setup({ top: 9, branch: () => Promise.reject(new Error('operation has timed out')) });
    const timedOut = await lost.store.getState().branchFrom(3);
    expect(timedOut.ok).toBe(false);
    expect(lost.store.getState().lastError).toMatch(/no answer/);
  });

  it('without a connection every intent answers not-joined and sends nothing', async () => {
    const store = createExplorerStore();
    store.getState().roomSnapshot(snapshot(2));
    expect((await store.getState().loadHistory()).ok).toBe(false);
    expect(await store.getState().branchFrom(1)).toMatchObject({ ok: false, error: 'not-joined' });
    expect(await store.getState().revertTo(1)).toMatchObject({ ok: false, error: 'not-joined' });
    expect(store.getState().history.entries).toEqual([]);
  });

  it('a read overtaken by a newer one of its kind is dropped', async () => {
    const answers: ((r: Result<{ entries: HistoryEntry[] }>) => void)[] = [];
    const { store } = setup({ top: 5, history: () => new Promise((resolve) => answers.push(resolve)) });
    const first = store.getState().loadHistory();
    store.getState().latentState({ version: 6, z: [0, 0], psi: 1, classLabel: null, weights: {} });
    const second = store.getState().loadHistory();
    answers[1]!({ ok: true, data: { entries: serve(6, { limit: 100 }) } });
    await second;
    answers[0]!({ ok: true, data: { entries: serve(5, { limit: 100 }).map((e) => ({ ...e, kind: 'set' as const })) } });
    await first;
    expect(store.getState().history.entries[0]!.version).toBe(6);
    expect(store.getState().history.entries.every((e) => e.kind === (e.version === 0 ? 'create' : 'random'))).toBe(true);
  });
});
