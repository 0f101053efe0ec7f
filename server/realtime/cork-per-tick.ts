/**
 * Coalesces the writes of one connection within one turn of the event loop into one syscall.
 *
 * Every Socket.IO message becomes its own WebSocket frame, and ws writes each frame at once
 * (header and payload in one `writev`). A room's fan-out sends a socket several messages in the
 * same turn (the acked state, a frame's header packet and its binary attachment, a pointer):
 * a profile of bench:realtime phase (b) put those `writev` calls, about 3,000 a second, at the
 * top of the realtime thread's own time. Corking the TCP socket on its first write of a turn and
 * uncorking it on the next tick sends them together; nothing waits longer than the current turn
 * (Node's cork counts nest, so ws's own cork/uncork per frame stays inside ours).
 */
import type { Socket } from 'node:net';

export function corkWritesPerTick(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function corkingWrite(this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: Parameters<Socket['write']>) => boolean).apply(this, args);
  } as Socket['write'];
}
