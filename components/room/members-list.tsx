'use client';

/** Who is in the room, in their colours (the same colours as their avatars in the 3D view). */
import { useExplorer } from '@/components/providers/explorer-provider';

export function MembersList() {
  const members = useExplorer((s) => s.room?.members ?? []);
  const me = useExplorer((s) => s.room?.memberId);
  return (
    <section className="card" aria-labelledby="members-title">
      <h2 id="members-title" className="card-title">
        Members <span className="count">{members.length}</span>
      </h2>
      <ul className="members" data-testid="members">
        {members.map((m) => (
          <li key={m.memberId} className="member">
            <span className="swatch" style={{ background: m.color }} aria-hidden="true" />
            <span className="member-name">{m.name}</span>
            {m.memberId === me && <span className="muted small">(you)</span>}
            <span className={`role role-${m.role}`}>{m.role}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
