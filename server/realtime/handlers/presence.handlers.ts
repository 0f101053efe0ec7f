/**
 * The `presence:*` domain: each member's pointer and probe latent, relayed to the others
 * newest-wins (../newest-sender.ts) and at most once per POINTER_INTERVAL_MS per member,
 * trailing-edge, so the last position always arrives (SPEC P2). Ephemeral: no ack, bad payloads
 * are dropped.
 */
import { POINTER_INTERVAL_MS, PointerSchema, type Pointer } from '../../../lib/protocol/rooms';
import { roomChannel, type RealtimeContext, type RealtimeSocket } from '../create-realtime-server';

export function registerPresenceHandlers(socket: RealtimeSocket, ctx: RealtimeContext): void {
  let lastSentAt = -Infinity;
  let queued: Pointer | undefined;
  let timer: NodeJS.Timeout | undefined;

  function send(pointer: Pointer): void {
    const m = socket.data.membership;
    if (!m || !ctx.rooms.get(m.roomId)?.members.has(m.memberId)) return;
    lastSentAt = performance.now();
    const relayed = { ...pointer, memberId: m.memberId };
    for (const id of ctx.io.sockets.adapter.rooms.get(roomChannel(m.roomId)) ?? []) {
      const other = ctx.io.sockets.sockets.get(id);
      if (other && other !== socket) ctx.sendPointer(other, m.memberId, relayed);
    }
    ctx.relayPointer?.(m.roomId, relayed);
  }

  socket.on('presence:pointer', (payload: unknown) => {
    const parsed = PointerSchema.safeParse(payload);
    if (!parsed.success) return;
    const m = socket.data.membership;
    const latentDim = m && ctx.rooms.get(m.roomId)?.model.latentDim;
    if (!latentDim || (parsed.data.probe && parsed.data.probe.length !== latentDim)) return;
    const wait = lastSentAt + POINTER_INTERVAL_MS - performance.now();
    if (wait <= 0 && !timer) {
      send(parsed.data);
      return;
    }
    queued = parsed.data;
    timer ??= setTimeout(() => {
      timer = undefined;
      const next = queued;
      queued = undefined;
      if (next) send(next);
    }, Math.max(0, wait));
  });

  socket.on('disconnect', () => clearTimeout(timer));
}
