'use client';

/**
 * The loaded op log, newest first: version, the op in words, who (in their colour) and when.
 * Each row is a button that previews its version (the same as moving the scrubber there); the
 * previewed row stays scrolled into the list's view.
 */
import { useEffect, useRef } from 'react';
import type { HistoryEntry, Member } from '@/lib/protocol/rooms';
import { authorName, describeOp } from '@/lib/stores/history';

/** Colour of an entry whose author has left (their colour went with them). */
const GONE_COLOR = 'var(--line)';

const timeOf = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
};

export function HistoryList({ entries, members, liveVersion, selected, onSelect }: { entries: HistoryEntry[]; members: Member[]; liveVersion: number; selected: number; onSelect(version: number | null): void }) {
  const listRef = useRef<HTMLOListElement>(null);

  // Keep the selected row visible inside the list (not by scrolling the page: scrubbing on a phone must not jump).
  useEffect(() => {
    const list = listRef.current;
    const row = list?.querySelector<HTMLElement>(`[data-version="${selected}"]`);
    if (!list || !row) return;
    const top = row.offsetTop; // the list is positioned: it is the row's offsetParent
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + row.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + row.offsetHeight - list.clientHeight;
  }, [selected, entries.length]);

  return (
    <ol className="history-list" ref={listRef} aria-label="versions, newest first" data-testid="history-list">
      {entries.map((e) => {
        const member = members.find((m) => m.memberId === e.by);
        const who = authorName(e, members);
        const live = e.version === liveVersion;
        return (
          <li key={e.version} data-version={e.version}>
            <button type="button" className="history-row" aria-pressed={e.version === selected} onClick={() => onSelect(live ? null : e.version)}>
              <span className="history-version">v{e.version}</span>
              <span className="history-what">
                {describeOp(e.kind)}
                {live && <span className="muted"> · live</span>}
              </span>
              <span className="history-who">
                <span className="swatch" style={{ background: member?.color ?? GONE_COLOR }} aria-hidden="true" />
                {who}
              </span>
              <time className="history-when muted" dateTime={e.at}>
                {timeOf(e.at)}
              </time>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
