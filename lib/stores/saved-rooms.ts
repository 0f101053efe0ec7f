/**
 * Rooms this browser created or opened, with their links, kept in localStorage (tokens are
 * capabilities: they stay on this device and never go to the server's logs, which is also why
 * room links carry them in the URL fragment).
 */
import { z } from 'zod';

const KEY = 'latentroom:rooms';
const NAME_KEY = 'latentroom:name';
/** Rooms remembered; the oldest opened are forgotten first. */
export const MAX_SAVED_ROOMS = 30;

const SavedRoomSchema = z.object({
  roomId: z.string(),
  name: z.string(),
  modelId: z.string(),
  editorToken: z.string().optional(),
  viewerToken: z.string().optional(),
  openedAt: z.number(),
});
export type SavedRoom = z.infer<typeof SavedRoomSchema>;

function storage(): Storage | undefined {
  try {
    return typeof window === 'undefined' ? undefined : window.localStorage;
  } catch {
    return undefined;
  }
}

export function listSavedRooms(): SavedRoom[] {
  const raw = storage()?.getItem(KEY);
  if (!raw) return [];
  try {
    const parsed = z.array(SavedRoomSchema).safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data.sort((a, b) => b.openedAt - a.openedAt) : [];
  } catch {
    return [];
  }
}

/** Adds or updates a room (tokens merge: a viewer link never replaces a known editor link). */
export function rememberRoom(room: Omit<SavedRoom, 'openedAt'> & { openedAt?: number }): void {
  const s = storage();
  if (!s) return;
  const rooms = listSavedRooms();
  const old = rooms.find((r) => r.roomId === room.roomId);
  const merged: SavedRoom = {
    ...old,
    ...room,
    ...(room.editorToken ?? old?.editorToken ? { editorToken: room.editorToken ?? old?.editorToken } : {}),
    ...(room.viewerToken ?? old?.viewerToken ? { viewerToken: room.viewerToken ?? old?.viewerToken } : {}),
    openedAt: room.openedAt ?? Date.now(),
  };
  const next = [merged, ...rooms.filter((r) => r.roomId !== room.roomId)].slice(0, MAX_SAVED_ROOMS);
  s.setItem(KEY, JSON.stringify(next));
}

export function forgetRoom(roomId: string): void {
  const s = storage();
  if (!s) return;
  s.setItem(KEY, JSON.stringify(listSavedRooms().filter((r) => r.roomId !== roomId)));
}

/** The link that opens a room with a token: the token in the fragment, never sent to the server. */
export function roomLink(origin: string, roomId: string, token: string): string {
  return `${origin}/rooms/${encodeURIComponent(roomId)}#t=${token}`;
}

/** The token of a room link (`#t=` preferred, `?t=` accepted). */
export function tokenFromLocation(loc: { hash: string; search: string }): string | undefined {
  const fromHash = new URLSearchParams(loc.hash.replace(/^#/, '')).get('t');
  return fromHash ?? new URLSearchParams(loc.search).get('t') ?? undefined;
}

export function displayName(): string {
  const s = storage();
  let name = s?.getItem(NAME_KEY)?.trim();
  if (!name) {
    name = `Guest ${Math.floor(100 + Math.random() * 900)}`;
    s?.setItem(NAME_KEY, name);
  }
  return name.slice(0, 40);
}

export function setDisplayName(name: string): void {
  const trimmed = name.trim().slice(0, 40);
  if (trimmed) storage()?.setItem(NAME_KEY, trimmed);
}
