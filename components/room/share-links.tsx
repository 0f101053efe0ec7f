'use client';

/**
 * The room's links: editor (can steer) and viewer (watches). Tokens this browser knows come from
 * localStorage (the creator knows both); an editor can make a new link of either kind, which
 * revokes the old one (SPEC J6): everyone who joined with it is disconnected.
 */
import { useState } from 'react';
import { rememberRoom, roomLink, type SavedRoom } from '@/lib/stores/saved-rooms';
import { useExplorer } from '@/components/providers/explorer-provider';

export function ShareLinks({ saved, onTokens }: { saved: SavedRoom | undefined; onTokens(t: { editorToken?: string; viewerToken?: string }): void }) {
  const room = useExplorer((s) => s.room);
  const revoke = useExplorer((s) => s.revoke);
  const [copied, setCopied] = useState<string | null>(null);
  if (!room) return null;
  const origin = typeof window === 'undefined' ? '' : window.location.origin;
  const links: { role: 'editor' | 'viewer'; token: string | undefined; what: string }[] = [
    { role: 'editor', token: saved?.editorToken, what: 'can steer, save bookmarks and share' },
    { role: 'viewer', token: saved?.viewerToken, what: 'watches and points, cannot change the room' },
  ];
  const isEditor = room.role === 'editor';
  return (
    <section className="card" aria-labelledby="share-title">
      <h2 id="share-title" className="card-title">
        Share
      </h2>
      {links.map(({ role, token, what }) => {
        if (role === 'editor' && !isEditor) return null;
        const link = token ? roomLink(origin, room.roomId, token) : undefined;
        return (
          <div key={role} className="share">
            <div className="share-head">
              <strong>{role === 'editor' ? 'Editor link' : 'Viewer link'}</strong> <span className="muted small">{what}</span>
            </div>
            {link ? (
              <div className="row">
                <input className="mono grow" readOnly value={link} aria-label={`${role} link`} data-testid={`${role}-link`} onFocus={(e) => e.target.select()} />
                <button
                  type="button"
                  className="btn btn-small"
                  onClick={() => void navigator.clipboard?.writeText(link).then(() => setCopied(role), () => setCopied(null))}
                >
                  {copied === role ? 'Copied' : 'Copy'}
                </button>
              </div>
            ) : (
              <p className="muted small">This browser does not know this link.</p>
            )}
            {isEditor && (
              <button
                type="button"
                className="btn btn-small btn-quiet"
                onClick={async () => {
                  if (link && !window.confirm(`Make a new ${role} link? The old one stops working and everyone who joined with it is disconnected.`)) return;
                  const res = await revoke(role);
                  if (res.ok) {
                    const tokens = role === 'editor' ? { editorToken: res.data.token } : { viewerToken: res.data.token };
                    rememberRoom({ roomId: room.roomId, name: saved?.name ?? room.roomId, modelId: room.modelId, ...saved, ...tokens });
                    onTokens(tokens);
                  }
                }}
              >
                {link ? 'Revoke and make a new one' : `Make a ${role} link`}
              </button>
            )}
          </div>
        );
      })}
    </section>
  );
}
