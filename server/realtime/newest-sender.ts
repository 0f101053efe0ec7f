/**
 * Newest-wins delivery of frames to one socket (SPEC F1). Socket.IO's `volatile` drops a packet
 * whenever the transport is still writing the previous one, and that can be the newest frame:
 * the member would then show a stale image until the next op. Instead, each socket holds at most
 * one waiting frame: sent at once when the transport is writable; otherwise it replaces the
 * waiting one and goes out when the transport is ready again. Frames never queue up behind a
 * slow client, and the last one always arrives.
 */
import type { FrameBroadcast } from '../../lib/protocol/rooms';
import type { RealtimeSocket } from './create-realtime-server';

export type FrameSender = (socket: RealtimeSocket, frame: FrameBroadcast) => void;

export function createFrameSender(): FrameSender {
  const waiting = new WeakMap<RealtimeSocket, FrameBroadcast>();

  const send: FrameSender = (socket, frame) => {
    if (!socket.connected) return;
    const conn = socket.conn;
    const transport = conn.transport;
    if (transport.writable) {
      socket.emit('frame', frame);
      return;
    }
    const wasWaiting = waiting.has(socket);
    waiting.set(socket, frame);
    if (wasWaiting) return;
    // 'ready': the websocket finished its write, or a polling request arrived; 'upgrade': the
    // transport changed under us. Either way, try again with whatever frame is newest by then.
    const retry = () => {
      transport.off('ready', retry);
      conn.off('upgrade', retry);
      const newest = waiting.get(socket);
      waiting.delete(socket);
      if (newest) send(socket, newest);
    };
    transport.on('ready', retry);
    conn.on('upgrade', retry);
  };
  return send;
}
