'use client';

/**
 * Bookmarks of the room: save the current latent with a name and tags (tags travel where the
 * protocol has them), list and filter, go to one, copy its permalink, export them as JSON
 * (vectors and provenance) and import such a file (each bookmark is re-created in this room
 * through the server: `set` to its z, its psi and class, then `bookmark:save`).
 */
import { useMemo, useRef, useState } from 'react';
import { z } from 'zod';
import type { Bookmark } from '@/lib/protocol/rooms';
import { useExplorer } from '@/components/providers/explorer-provider';

export const BOOKMARKS_FORMAT = 'latentroom-bookmarks';
/** Largest import file read. */
const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

const ImportSchema = z.object({
  format: z.literal(BOOKMARKS_FORMAT),
  formatVersion: z.literal(1),
  modelId: z.string(),
  bookmarks: z
    .array(
      z.object({
        name: z.string().trim().min(1).max(60),
        tags: z.array(z.string()).max(8).optional(),
        z: z.array(z.number().finite()),
        psi: z.number().min(0).max(2).optional(),
        classLabel: z.number().int().min(0).nullable().optional(),
      }),
    )
    .max(200),
});

type TaggedBookmark = Bookmark & { tags?: string[]; psi?: number; classLabel?: number | null; createdAt?: string };

function parseTags(text: string): string[] {
  return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))].slice(0, 8).map((t) => t.slice(0, 24));
}

export function BookmarksPanel({ disabled, modelId }: { disabled: boolean; modelId: string }) {
  const bookmarks = useExplorer((s) => (s.room?.bookmarks ?? []) as TaggedBookmark[]);
  const members = useExplorer((s) => s.room?.members ?? []);
  const latentDim = useExplorer((s) => s.room?.latentDim ?? 0);
  const numClasses = useExplorer((s) => s.room?.numClasses ?? null);
  const room = useExplorer((s) => s.room);
  const saveBookmark = useExplorer((s) => s.saveBookmark);
  const steer = useExplorer((s) => s.steer);
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    if (!q) return bookmarks;
    return bookmarks.filter((b) => b.name.toLowerCase().includes(q) || (b.tags ?? []).some((t) => t.toLowerCase().includes(q)));
  }, [bookmarks, filter]);

  const permalink = (id: string) => `${window.location.origin}/b/${id}`;

  async function save(e: React.FormEvent) {
    e.preventDefault();
    const n = name.trim();
    if (!n) return;
    const res = await saveBookmark(n, parseTags(tags));
    if (res.ok) {
      setName('');
      setTags('');
      setStatus(`saved “${res.data.name}”`);
    } else setStatus(`not saved: ${res.message ?? res.error}`);
  }

  function exportJson() {
    const data = {
      format: BOOKMARKS_FORMAT,
      formatVersion: 1,
      modelId,
      roomId: room?.roomId,
      exportedAt: new Date().toISOString(),
      bookmarks: bookmarks.map((b) => ({
        id: b.id,
        name: b.name,
        tags: b.tags ?? [],
        z: b.z,
        ...(b.psi !== undefined ? { psi: b.psi } : {}),
        ...(b.classLabel !== undefined ? { classLabel: b.classLabel } : {}),
        provenance: { modelId, roomId: room?.roomId, createdBy: members.find((m) => m.memberId === b.createdBy)?.name ?? b.createdBy, createdAt: b.createdAt, permalink: permalink(b.id) },
      })),
    };
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `bookmarks-${modelId}-${room?.roomId ?? 'room'}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function importJson(file: File) {
    if (file.size > MAX_IMPORT_BYTES) return setStatus(`that file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`);
    let parsed;
    try {
      parsed = ImportSchema.safeParse(JSON.parse(await file.text()));
    } catch {
      return setStatus('that file is not JSON');
    }
    if (!parsed.success) return setStatus(`not a bookmarks file: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
    if (parsed.data.modelId !== modelId) return setStatus(`these bookmarks are for model ${parsed.data.modelId}, this room explores ${modelId}`);
    const bad = parsed.data.bookmarks.find((b) => b.z.length !== latentDim);
    if (bad) return setStatus(`“${bad.name}” has ${bad.z.length} values; this model's latents have ${latentDim}`);
    let done = 0;
    for (const b of parsed.data.bookmarks) {
      setStatus(`importing ${done + 1} of ${parsed.data.bookmarks.length}…`);
      const ops = [
        { kind: 'set' as const, z: b.z },
        ...(b.psi !== undefined ? [{ kind: 'psi' as const, psi: b.psi }] : []),
        ...(numClasses !== null && typeof b.classLabel === 'number' && b.classLabel < numClasses ? [{ kind: 'class' as const, classLabel: b.classLabel }] : []),
      ];
      for (const op of ops) {
        const r = await steer(op);
        if (!r.ok) return setStatus(`import stopped at “${b.name}”: ${r.message ?? r.error}`);
      }
      const r = await saveBookmark(b.name, b.tags ?? []);
      if (!r.ok) return setStatus(`import stopped at “${b.name}”: ${r.message ?? r.error}`);
      done++;
    }
    setStatus(`imported ${done} bookmark${done === 1 ? '' : 's'}`);
  }

  return (
    <section className="card" aria-labelledby="bookmarks-title">
      <h2 id="bookmarks-title" className="card-title">
        Bookmarks <span className="count">{bookmarks.length}</span>
      </h2>
      <form className="stack" onSubmit={(e) => void save(e)}>
        <label className="field">
          <span>Name</span>
          <input value={name} maxLength={60} onChange={(e) => setName(e.target.value)} disabled={disabled} placeholder="a thin seven" data-testid="bookmark-name" />
        </label>
        <label className="field">
          <span>Tags (comma-separated)</span>
          <input value={tags} onChange={(e) => setTags(e.target.value)} disabled={disabled} placeholder="seven, thin" />
        </label>
        <button type="submit" className="btn btn-primary" disabled={disabled || !name.trim()}>
          Save the current latent
        </button>
      </form>
      {bookmarks.length > 0 && (
        <label className="field">
          <span>Filter</span>
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name or tag" />
        </label>
      )}
      <ul className="bookmark-list" data-testid="bookmarks">
        {shown.map((b) => (
          <li key={b.id} className="bookmark">
            <div className="bookmark-head">
              <strong>{b.name}</strong>
              <span className="muted small">by {members.find((m) => m.memberId === b.createdBy)?.name ?? 'someone'}</span>
            </div>
            {b.tags && b.tags.length > 0 && (
              <div className="tags">
                {b.tags.map((t) => (
                  <span key={t} className="tag">
                    {t}
                  </span>
                ))}
              </div>
            )}
            <div className="row wrap">
              <button type="button" className="btn btn-small" disabled={disabled} title={`move the room to “${b.name}”`} onClick={() => void steer({ kind: 'sum', terms: [{ ref: { bookmark: b.id }, weight: 1 }] })}>
                Go
              </button>
              <a className="btn btn-small" href={`/b/${b.id}`} target="_blank" rel="noreferrer" title={`the permalink of “${b.name}”, in a new tab`}>
                Permalink
              </a>
              <button
                type="button"
                className="btn btn-small"
                title={`copy the permalink of “${b.name}”`}
                onClick={() =>
                  void navigator.clipboard?.writeText(permalink(b.id)).then(
                    () => setStatus(`copied the link to “${b.name}”`),
                    () => setStatus(permalink(b.id)),
                  )
                }
              >
                Copy link
              </button>
            </div>
          </li>
        ))}
      </ul>
      {bookmarks.length > 0 && shown.length === 0 && <p className="muted small">No bookmark matches “{filter}”.</p>}
      <div className="row wrap">
        <button type="button" className="btn btn-small" onClick={exportJson} disabled={bookmarks.length === 0}>
          Export JSON
        </button>
        <button type="button" className="btn btn-small" onClick={() => fileRef.current?.click()} disabled={disabled}>
          Import JSON
        </button>
        <input
          ref={fileRef}
          type="file"
          accept="application/json,.json"
          className="visually-hidden"
          aria-label="bookmarks file to import"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void importJson(f);
          }}
        />
      </div>
      <p className="muted small" role="status" aria-live="polite">
        {status}
      </p>
    </section>
  );
}
