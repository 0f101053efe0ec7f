/**
 * One client process of `npm run bench:realtime` (forked by bench/realtime.ts, never run alone):
 * holds real socket.io-client connections, one per member it is given, joins them to their
 * rooms, sends `set` ops at a fixed rate, and records what each member receives. It reports raw
 * timings to the parent, which computes the figures.
 *
 * Clock: every timestamp is `performance.timeOrigin + performance.now()` (ms since the epoch,
 * sub-ms resolution), which every process on one machine reads from the same system clock; so a
 * frame's arrival at one member and the op's send at another member compare directly. A
 * member's own op-to-frame latency uses only its own process's clock.
 */
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, type ClientToServerEvents, type Result, type ServerToClientEvents } from '../lib/protocol/events';
import type { LatentOpResponse, RoomSnapshot } from '../lib/protocol/rooms';
import { seededNormal } from '../lib/latent/random';
import { now, stateHash, type ChildMessage, type MemberResult, type MemberSpec, type ParentMessage } from './lib/realtime-wire';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const OP_TIMEOUT_MS = 10_000;

interface Member {
  spec: MemberSpec;
  socket: ClientSocket;
  result: MemberResult;
  latentDim: number;
  sent: number;
}

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

async function connectMember(url: string, spec: MemberSpec): Promise<Member> {
  const socket: ClientSocket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const result: MemberResult = {
    key: spec.key,
    roomId: spec.roomId,
    memberId: '',
    joinedAt: 0,
    opSendT: [],
    opVersion: [],
    opHash: [],
    opErrors: {},
    stateVersion: [],
    stateHash: [],
    frameVersion: [],
    frameT: [],
    stateOrderViolations: 0,
    frameOrderViolations: 0,
    disconnects: 0,
  };
  let lastState = Number.NaN;
  let lastFrame = -1;
  socket.on('latent:state', (s) => {
    if (!Number.isNaN(lastState) && s.version !== lastState + 1) result.stateOrderViolations += 1;
    lastState = s.version;
    result.stateVersion.push(s.version);
    result.stateHash.push(stateHash(s.by, s.z));
  });
  socket.on('frame', (f) => {
    const t = now();
    if (f.version <= lastFrame) result.frameOrderViolations += 1;
    lastFrame = Math.max(lastFrame, f.version);
    result.frameVersion.push(f.version);
    result.frameT.push(t);
  });
  socket.on('disconnect', () => (result.disconnects += 1));
  const joined: Result<RoomSnapshot> = await socket
    .timeout(OP_TIMEOUT_MS)
    .emitWithAck('room:join', { roomId: spec.roomId, token: spec.token, name: spec.key, protocolVersion: PROTOCOL_VERSION });
  if (!joined.ok) throw new Error(`join ${spec.key}: ${joined.error}`);
  result.memberId = joined.data.memberId;
  result.joinedAt = joined.data.version;
  // States start after the snapshot's version.
  lastState = joined.data.version;
  return { spec, socket, result, latentDim: joined.data.latentDim, sent: 0 };
}

function sendOp(m: Member): void {
  const z = seededNormal((m.spec.seed * 100_003 + m.sent++) >>> 0, m.latentDim);
  const i = m.result.opSendT.length;
  m.result.opSendT.push(now());
  m.result.opVersion.push(-1);
  m.result.opHash.push(stateHash(m.result.memberId, z));
  m.socket.timeout(OP_TIMEOUT_MS).emit('latent:op', { kind: 'set', z: Array.from(z) }, (err: Error | null, res: Result<LatentOpResponse>) => {
    const code = err ? 'timeout' : res.ok ? undefined : res.error;
    if (code) m.result.opErrors[code] = (m.result.opErrors[code] ?? 0) + 1;
    else if (res.ok) m.result.opVersion[i] = res.data.version;
  });
}

let members: Member[] = [];

async function run(startAt: number, durationMs: number, drainMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, startAt - now())));
  const timers: NodeJS.Timeout[] = [];
  const begin = now();
  for (const [i, m] of members.entries()) {
    if (m.spec.opsPerS <= 0) continue;
    const interval = 1000 / m.spec.opsPerS;
    // Spread the members' phases so they do not all fire in the same turn.
    const offset = (interval * i) / members.length;
    let n = 0;
    const tick = () => {
      const due = begin + offset + n * interval;
      if (due - begin > durationMs) return;
      if (now() >= due) {
        sendOp(m);
        n += 1;
      }
      // Absolute schedule: a late tick does not push the later ones back.
      timers[i] = setTimeout(tick, Math.max(0, begin + offset + n * interval - now()));
    };
    timers[i] = setTimeout(tick, offset);
  }
  await new Promise((r) => setTimeout(r, durationMs + drainMs));
  for (const t of timers) clearTimeout(t);
}

process.on('message', (msg: ParentMessage) => {
  void (async () => {
    try {
      if (msg.type === 'setup') {
        members = [];
        // Joins one after another: a burst of joins is not what is being measured.
        for (const spec of msg.members) members.push(await connectMember(msg.url, spec));
        send({ type: 'ready' });
      } else if (msg.type === 'run') {
        await run(msg.startAt, msg.durationMs, msg.drainMs);
        for (const m of members) m.socket.disconnect();
        send({ type: 'result', members: members.map((m) => m.result) });
      }
    } catch (err) {
      send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
    }
  })();
});

process.on('disconnect', () => process.exit(0));
