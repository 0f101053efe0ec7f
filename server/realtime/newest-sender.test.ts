/** SPEC F1, P2: newest-wins delivery against a fake socket whose transport is busy or writable. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { RealtimeSocket } from './create-realtime-server';
import { createFrameSender, createNewestSender } from './newest-sender';

function fakeSocket() {
  const transport = Object.assign(new EventEmitter(), { writable: true });
  const conn = Object.assign(new EventEmitter(), { transport });
  const socket = { connected: true, conn, data: {} } as unknown as RealtimeSocket;
  return { socket, transport, conn };
}

describe('createNewestSender', () => {
  it('sends at once when writable; while busy keeps only the newest per key and sends it when ready', () => {
    const sent: string[] = [];
    const send = createNewestSender<string>((_s, p) => sent.push(p));
    const { socket, transport } = fakeSocket();
    send(socket, 'frame', 'f1');
    expect(sent).toEqual(['f1']);
    transport.writable = false;
    send(socket, 'frame', 'f2');
    send(socket, 'm1', 'p1');
    send(socket, 'frame', 'f3');
    send(socket, 'm1', 'p2');
    expect(sent).toEqual(['f1']);
    transport.writable = true;
    transport.emit('ready');
    expect(sent).toEqual(['f1', 'f3', 'p2']);
    transport.emit('ready'); // nothing left, nothing sent twice
    expect(sent).toEqual(['f1', 'f3', 'p2']);
    expect(transport.listenerCount('ready')).toBe(0);
  });

  it('retries on a transport upgrade, and drops everything for a disconnected socket', () => {
    const sent: string[] = [];
    const send = createNewestSender<string>((_s, p) => sent.push(p));
    const { socket, transport, conn } = fakeSocket();
    transport.writable = false;
    send(socket, 'frame', 'f1');
    const upgraded = Object.assign(new EventEmitter(), { writable: true });
    (conn as unknown as { transport: unknown }).transport = upgraded;
    conn.emit('upgrade');
    expect(sent).toEqual(['f1']);
    (socket as unknown as { connected: boolean }).connected = false;
    send(socket, 'frame', 'f2');
    expect(sent).toEqual(['f1']);
  });
});

describe('createFrameSender', () => {
  it('sends each version of a room once, counting frames delivered before the membership is set (cluster join)', () => {
    const sent: number[] = [];
    const send = createFrameSender<{ version: number }>((_s, f) => sent.push(f.version));
    const { socket } = fakeSocket();
    // Relayed through the channel while the join is still in flight: no membership yet.
    send(socket, 'r1', { version: 5 });
    socket.data.membership = { roomId: 'r1', memberId: 'm', name: 'A', role: 'editor', tokenId: 't' };
    send(socket, 'r1', { version: 5 }); // the join handler's latest frame: already there
    send(socket, 'r1', { version: 4 }); // older: never after a newer one
    send(socket, 'r1', { version: 6 });
    expect(sent).toEqual([5, 6]);
  });

  it('drops a frame of a room the socket has left for another, and starts afresh in the new room', () => {
    const sent: string[] = [];
    const send = createFrameSender<{ version: number }>((_s, f) => sent.push(String(f.version)));
    const { socket } = fakeSocket();
    socket.data.membership = { roomId: 'r1', memberId: 'm', name: 'A', role: 'editor', tokenId: 't' };
    send(socket, 'r1', { version: 9 });
    socket.data.membership = { roomId: 'r2', memberId: 'm2', name: 'A', role: 'editor', tokenId: 't' };
    send(socket, 'r1', { version: 10 });
    send(socket, 'r2', { version: 1 });
    expect(sent).toEqual(['9', '1']);
  });
});
