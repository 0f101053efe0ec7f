/**
 * Pure logic of the room's history as the History panel shows it (SPEC O13–O15): the loaded
 * part of the op log (`room:history` pages, newest first) merged as pages arrive, the request
 * that brings it up to the room's version, and the words for each op. Kept apart from zustand so
 * it is tested as functions (tests/unit/history.test.ts).
 *
 * Invariant of `HistoryLog.entries`: newest first, one entry per version, no version missing
 * between the newest and the oldest loaded (the log has one row per version, O1), so the
 * scrubber's range of versions is exactly the loaded entries.
 */
import { HISTORY_DEFAULT_LIMIT, type HistoryEntry } from '../protocol/rooms';

export interface HistoryLog {
  /** Newest first, contiguous versions. */
  entries: HistoryEntry[];
  /** True once the oldest entry of the room's log is loaded (nothing older to page in). */
  complete: boolean;
}

export const EMPTY_HISTORY: HistoryLog = { entries: [], complete: false };

/** Newest first, one per version (a later copy of a version replaces an earlier one). */
function byVersionDesc(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const seen = new Map<number, HistoryEntry>();
  for (const e of entries) seen.set(e.version, e);
  return [...seen.values()].sort((a, b) => b.version - a.version);
}

/** True when versions run down by exactly one from first to last. */
function contiguous(entries: readonly HistoryEntry[]): boolean {
  return entries.every((e, i) => i === 0 || entries[i - 1]!.version - e.version === 1);
}

/**
 * A page of the newest entries (`room:history` without `before`, asked for `limit`): merged
 * when it meets or overlaps what is loaded; when versions are missing between them (more ops
 * arrived than the page holds), the page replaces the log, so the loaded part stays contiguous.
 */
export function mergeNewest(log: HistoryLog, page: readonly HistoryEntry[], limit: number): HistoryLog {
  const fresh = byVersionDesc(page);
  const pageComplete = fresh.length < limit || fresh.at(-1)?.version === 0;
  if (fresh.length === 0) return log;
  if (!contiguous(fresh)) return { entries: fresh, complete: false };
  const newestLoaded = log.entries[0]?.version;
  const oldestFresh = fresh.at(-1)!.version;
  if (newestLoaded === undefined || oldestFresh > newestLoaded + 1) return { entries: fresh, complete: pageComplete };
  const merged = byVersionDesc([...log.entries, ...fresh]);
  return { entries: merged, complete: log.complete || pageComplete };
}

/**
 * A page of older entries (`room:history { before: oldest loaded version }`): appended below. A
 * page shorter than asked for, or one reaching version 0, means the start of the log.
 */
export function appendOlder(log: HistoryLog, page: readonly HistoryEntry[], limit: number): HistoryLog {
  const oldest = log.entries.at(-1)?.version;
  const older = byVersionDesc(page).filter((e) => oldest === undefined || e.version < oldest);
  const complete = page.length < limit || older.at(-1)?.version === 0;
  if (older.length === 0) return { ...log, complete: complete || log.complete };
  const joined = [...log.entries, ...older];
  // A page that does not meet the loaded part would leave a hole in the scrubber: drop it.
  if (!contiguous(joined)) return log;
  return { entries: joined, complete };
}

/**
 * The `room:history` request that brings the log up to `roomVersion`: null when it is already
 * there; otherwise the newest entries, as many as are missing (at most a default page).
 */
export function refreshRequest(log: HistoryLog, roomVersion: number): { limit: number } | null {
  const newest = log.entries[0]?.version;
  if (newest !== undefined && newest >= roomVersion) return null;
  const missing = newest === undefined ? HISTORY_DEFAULT_LIMIT : roomVersion - newest;
  return { limit: Math.max(1, Math.min(HISTORY_DEFAULT_LIMIT, missing)) };
}

/** The loaded entry of a version, if any. */
export function entryAt(log: HistoryLog, version: number): HistoryEntry | undefined {
  const newest = log.entries[0]?.version;
  if (newest === undefined) return undefined;
  const e = log.entries[newest - version];
  return e?.version === version ? e : log.entries.find((x) => x.version === version);
}

/** Each op kind in words, for the list and the scrubber's spoken value. */
const OP_WORDS: Record<HistoryEntry['kind'], string> = {
  create: 'room created',
  set: 'set z',
  nudge: 'nudge',
  lerp: 'interpolate (lerp)',
  slerp: 'interpolate (slerp)',
  sum: 'vector arithmetic',
  random: 'random sample',
  psi: 'truncation psi',
  class: 'class',
  weight: 'direction slider',
  undo: 'undo',
  redo: 'redo',
  steer: 'steer to attribute',
  revert: 'revert',
};

export function describeOp(kind: HistoryEntry['kind']): string {
  return OP_WORDS[kind] ?? kind;
}

/** Who made an entry, as the list names them. */
export function authorName(entry: Pick<HistoryEntry, 'by' | 'byName'>, members: readonly { memberId: string; name: string }[]): string {
  if (entry.by === 'server') return 'the server';
  return members.find((m) => m.memberId === entry.by)?.name ?? entry.byName ?? 'a former member';
}
