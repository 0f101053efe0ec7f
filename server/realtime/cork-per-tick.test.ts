import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { corkWritesPerTick } from './cork-per-tick';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function pair(): Promise<{ sender: Socket; received: () => Buffer[] }> {
  const chunks: Buffer[] = [];
  const server = createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const sender = connect(port, '127.0.0.1');
  await once(sender, 'connect');
  sender.setNoDelay(true);
  cleanups.push(() => {
    sender.destroy();
    server.close();
  });
  return { sender, received: () => chunks };
}

describe('corkWritesPerTick', () => {
  it('holds the writes of one turn and sends them together on the next tick, in order', async () => {
    const { sender, received } = await pair();
    corkWritesPerTick(sender);
    const acked: string[] = [];
    sender.write('one,', () => acked.push('one'));
    expect(sender.writableCorked).toBe(1);
    sender.write('two,');
    sender.write('three', () => acked.push('three'));
    // Still held: nothing has left this turn.
    expect(sender.writableLength).toBeGreaterThan(0);
    await new Promise<void>((r) => process.nextTick(r));
    expect(sender.writableCorked).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(received()).toString()).toBe('one,two,three');
    expect(acked).toEqual(['one', 'three']);
  });

  it("corks again in a later turn, and nests inside a caller's own cork", async () => {
    const { sender, received } = await pair();
    corkWritesPerTick(sender);
    sender.write('a');
    await new Promise((r) => setTimeout(r, 10));
    sender.cork();
    sender.write('b');
    expect(sender.writableCorked).toBe(2);
    sender.uncork();
    expect(sender.writableCorked).toBe(1);
    await new Promise<void>((r) => process.nextTick(r));
    expect(sender.writableCorked).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(received()).toString()).toBe('ab');
  });
});
