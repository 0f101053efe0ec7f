/**
 * Newest-wins delivery to one socket, for frames (SPEC F1) and relayed pointers (P2). Socket.IO's
 * `volatile` drops a packet whenever the transport is still writing the previous one, and that
 * can be the newest: a member would then show a stale image, or a cursor where it no longer is,
 * until the next change. Instead, each (socket, key) holds at most one waiting payload: sent at
 * once when the transport is writable; otherwise it replaces the waiting one and goes out when
 * the transport is ready again. Nothing queues up behind a slow client, and the last one arrives.
 */
import type { RealtimeSocket } from './create-realtime-server';

export type NewestSender<T> = (socket: RealtimeSocket, key: string, payload: T) => void;

export function createNewestSender<T>(emit: (socket: RealtimeSocket, payload: T) => void): NewestSender<T> {
  const waiting = new WeakMap<RealtimeSocket, Map<string, T>>();

  const send: NewestSender<T> = (socket, key, payload) => {
    if (!socket.connected) return;
    const conn = socket.conn;
    const transport = conn.transport;
    if (transport.writable) {
      emit(socket, payload);
      return;
    }
    let pending = waiting.get(socket);
    const armed = pending !== undefined;
    if (!pending) {
      pending = new Map();
      waiting.set(socket, pending);
    }
    pending.set(key, payload);
    if (armed) return;
    // 'ready': the websocket finished its write, or a polling request arrived; 'upgrade': the
    // transport changed under us. Either way, try again with whatever is newest by then.
    const retry = () => {
      transport.off('ready', retry);
      conn.off('upgrade', retry);
      const newest = waiting.get(socket);
      waiting.delete(socket);
      for (const [k, p] of newest ?? []) send(socket, k, p);
    };
    transport.on('ready', retry);
    conn.on('upgrade', retry);
  };
  return send;
}

/** Sends a room's frame to one socket: `(socket, roomId, frame)`. */
export type FrameSender<F extends { version: number }> = (socket: RealtimeSocket, roomId: string, frame: F) => void;

/**
 * Newest-wins frames with at most one frame per version reaching a socket, in increasing order
 * (SPEC F1). In cluster mode the newest frame can be offered twice: relayed from the owner
 * through the room's channel, and again by the join handler. The room is the one the frame is
 * delivered for, not the socket's membership: a member joining through another node is in the
 * channel before its join returns and `membership` is set, and a frame relayed in that window
 * must count as sent for that room, or the join would send the same version again. A frame
 * for a room the socket has since left is dropped.
 */
export function createFrameSender<F extends { version: number }>(emit: (socket: RealtimeSocket, frame: F) => void): FrameSender<F> {
  const lastSent = new WeakMap<RealtimeSocket, { roomId: string; version: number }>();
  const send = createNewestSender<{ roomId: string; frame: F }>((socket, { roomId, frame }) => {
    const member = socket.data.membership;
    if (member && member.roomId !== roomId) return;
    const last = lastSent.get(socket);
    if (last && last.roomId === roomId && last.version >= frame.version) return;
    lastSent.set(socket, { roomId, version: frame.version });
    emit(socket, frame);
  });
  return (socket, roomId, frame) => send(socket, 'frame', { roomId, frame });
}
