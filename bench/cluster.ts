/**
 * npm run bench:cluster [-- --json] [--seconds N] [--rooms N] [--members N] [--room-ops-per-s N]
 *   [--client-procs N] [--configs one,two] [--rounds N]
 *
 * Frames per second delivered and op-to-frame latency for one realtime node against two nodes
 * with two inference workers, at the same load. Everything runs as real processes on loopback,
 * started by the cluster tests' harness (tests/integration/support/cluster.ts) on a scratch
 * PostgreSQL database (TEST_DATABASE_URL) and, for the cluster, Redis (TEST_REDIS_URL):
 *
 *   one: `server/index.ts` alone, the single-process default (its engine worker decodes; no
 *        Redis), on PostgreSQL like the cluster, so storage is the same;
 *   two: two `server/index.ts` nodes in cluster mode (INFERENCE_MODE=queue) and two
 *        `server/cluster/inference-worker.ts` processes.
 *
 * Load: --rooms (40) rooms x --members (4) editors, each sending --room-ops-per-s (2) `set` ops
 * per second for --seconds (20), from --client-procs (4) client processes (bench/realtime-
 * client.ts). In the cluster, client process i connects to node i mod 2, and a room's members
 * are spread over the processes, so every room has members on both nodes (half of all ops are
 * forwarded to the room's owner) and the rooms' owners alternate between the nodes. Figures per configuration (computed by
 * bench/lib/realtime-analysis.ts, as bench:realtime does): frames/s delivered to all members
 * and distinct frames rendered per second, op-to-frame latency at every member of the sender's
 * room (p50, p95, p99), acked ops lost (members and op log; target 0), errors, and the CPU the
 * server processes (nodes and workers, all threads; Linux /proc) used over the load window, in
 * all and per rendered frame; then the ratios,
 * two over one, of frames/s and of op-to-frame p95. With --rounds N, the configurations run N
 * times, alternating which goes first, and the ratios are the median of each round's own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { io } from 'socket.io-client';
import { env } from '../lib/env';
import type { Result } from '../lib/protocol/events';
import type { RoomCreateResponse } from '../lib/protocol/rooms';
import { openDatabase } from '../server/db/open-database';
import { BUILTIN_RANDOM_DCGAN_ID } from '../server/inference/model-registry';
import { probeClusterServices, startCluster, type Cluster } from '../tests/integration/support/cluster';
import { argValue, median, report, round, say } from './lib/report';
import { analyse, framesPerSecond } from './lib/realtime-analysis';
import { now, type ChildMessage, type MemberResult, type MemberSpec, type ParentMessage } from './lib/realtime-wire';

const num = (name: string, fallback: number) => {
  const v = argValue(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${v}`);
  return n;
};

const SECONDS = num('seconds', 20);
const ROOMS = Math.max(1, Math.round(num('rooms', 40)));
const MEMBERS = Math.max(1, Math.round(num('members', 4)));
const OPS_PER_S = num('room-ops-per-s', 2);
const CLIENT_PROCS = Math.max(2, Math.round(num('client-procs', 4)));
const CONFIGS = (argValue('configs') ?? 'one,two').split(',');
const ROUNDS = Math.max(1, Math.round(num('rounds', 1)));
const DRAIN_MS = 3_000;
const CLIENT_SCRIPT = new URL('./realtime-client.ts', import.meta.url);
/** The trained DCGAN when shipped (what people explore), else the same network with random weights. */
const MODEL_ID = existsSync(new URL('../models/pretrained/dcgan-mnist', import.meta.url)) ? 'dcgan-mnist' : BUILTIN_RANDOM_DCGAN_ID;

/** CPU seconds (user + system, all threads) a process has used so far: Linux /proc, else NaN. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ: 100 on Linux (the kernel's unit for /proc/<pid>/stat times). */
const CLOCK_TICKS_PER_S = 100;

function waitFor<T extends ChildMessage['type']>(child: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: ChildMessage) => {
      if (m.type === type) {
        child.off('message', onMessage);
        resolve(m as Extract<ChildMessage, { type: T }>);
      } else if (m.type === 'failed') {
        child.off('message', onMessage);
        reject(new Error(`client process failed: ${m.error}`));
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`client process exited (${code})`)));
  });
}

/** Rooms created through node 1 (one socket per 5: room:create is rate-limited per socket, E7). */
async function createRooms(url: string, count: number): Promise<RoomCreateResponse[]> {
  const rooms: RoomCreateResponse[] = [];
  while (rooms.length < count) {
    const socket = io(url, { transports: ['websocket'], forceNew: true });
    try {
      for (let i = 0; i < 5 && rooms.length < count; i++) {
        const res: Result<RoomCreateResponse> = await socket.timeout(10_000).emitWithAck('room:create', { modelId: MODEL_ID, name: `bench ${rooms.length}` });
        if (!res.ok) throw new Error(`room:create failed: ${res.error} ${res.message ?? ''}`);
        rooms.push(res.data);
      }
    } finally {
      socket.disconnect();
    }
  }
  return rooms;
}

async function measure(name: 'one' | 'two'): Promise<Record<string, unknown>> {
  const cluster: Cluster = name === 'one' ? await startCluster({ nodes: 1, workers: 0, redis: false }) : await startCluster({ nodes: 2, workers: 2 });
  const children: ChildProcess[] = [];
  try {
    const urls = cluster.nodes.map((n) => n.url);
    const rooms = await createRooms(urls[0]!, ROOMS);
    const groups: MemberSpec[][] = Array.from({ length: CLIENT_PROCS }, () => []);
    let seed = 1;
    for (const [i, room] of rooms.entries()) {
      // Member j of room i in process (i + j) mod P: a room's members sit in different processes
      // (so on both nodes), and its first member, who usually joins first and so decides which
      // node owns it, alternates between the nodes from room to room.
      for (let j = 0; j < MEMBERS; j++) groups[(i + j) % CLIENT_PROCS]!.push({ key: `r${i}m${j}`, roomId: room.roomId, token: room.editorToken, opsPerS: OPS_PER_S, seed: seed++ });
    }
    for (let i = 0; i < CLIENT_PROCS; i++) {
      children.push(fork(CLIENT_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' }));
    }
    const ready = children.map((c) => waitFor(c, 'ready'));
    children.forEach((c, i) => c.send({ type: 'setup', url: urls[i % urls.length]!, members: groups[i]! } satisfies ParentMessage));
    await Promise.all(ready);
    const durationMs = SECONDS * 1000;
    const startAt = now() + 500;
    const results = children.map((c) => waitFor(c, 'result'));
    for (const c of children) c.send({ type: 'run', startAt, durationMs, drainMs: DRAIN_MS } satisfies ParentMessage);
    // CPU of the server side (nodes and workers, every thread) over the load window.
    const servers = [...cluster.nodes, ...cluster.workers].map((p) => p.proc.pid);
    await new Promise((r) => setTimeout(r, Math.max(0, startAt - now())));
    const cpu0 = servers.map(cpuSeconds);
    await new Promise((r) => setTimeout(r, durationMs));
    const cpu = servers.map((pid, i) => cpuSeconds(pid) - cpu0[i]!).reduce((a, b) => a + b, 0);
    const members: MemberResult[] = (await Promise.all(results)).flatMap((m) => m.members);
    const load = round(loadavg()[0]!, 2);
    const database = await openDatabase(cluster.databaseUrl);
    try {
      const a = await analyse(members, database);
      const fps = framesPerSecond(members, startAt, durationMs);
      const figures = {
        processes: name === 'one' ? '1 node (engine in-process worker thread)' : '2 nodes + 2 inference workers',
        frames_per_s_delivered: fps.delivered,
        frames_per_s_rendered: fps.rendered,
        op_to_frame_ms: a.op_to_frame_ms,
        ops_sent: a.ops_sent,
        ops_acked: a.ops_acked,
        op_errors: a.op_errors,
        lost_acked_ops: a.lost_acked_ops,
        lost_in_op_log: a.lost_in_op_log,
        version_order_violations: a.version_order_violations,
        state_order_violations: a.state_order_violations,
        frame_order_violations: a.frame_order_violations,
        latency_missing: a.latency_missing,
        load_average_1m: load,
        server_cpu_percent: round((cpu / SECONDS) * 100, 0),
        server_cpu_ms_per_rendered_frame: round((cpu * 1000) / (fps.rendered * SECONDS), 2),
      };
      say(
        `  ${name}: ${fps.delivered} frames/s delivered (${fps.rendered} rendered), op-to-frame p50 ${a.op_to_frame_ms.p50} / p95 ${a.op_to_frame_ms.p95} / p99 ${a.op_to_frame_ms.p99} ms, ` +
          `${a.ops_acked}/${a.ops_sent} acked, lost ${a.lost_acked_ops}/${a.lost_in_op_log}, order violations ${a.version_order_violations}, ` +
          `server CPU ${figures.server_cpu_percent}% of a core (${figures.server_cpu_ms_per_rendered_frame} ms per rendered frame), load ${load}`,
      );
      if (Object.keys(a.op_errors).length > 0 || a.lost_acked_ops > 0) {
        // Show why: the last lines each process logged (LOG_LEVEL=warn).
        for (const p of [...cluster.nodes, ...cluster.workers]) {
          const lines = p.output.join('').trim().split('\n').filter(Boolean);
          say(`  -- ${p.name}: ${lines.length} log lines, the first and last ones:`);
          for (const line of [...lines.slice(0, 12), '...', ...lines.slice(-12)]) say(`     ${line.slice(0, 300)}`);
        }
      }
      return figures;
    } finally {
      await database.close();
    }
  } finally {
    for (const c of children) if (c.connected) c.disconnect();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const services = await probeClusterServices();
  if (!services.ok) throw new Error(`bench:cluster needs PostgreSQL and Redis: ${services.reason}`);
  say(`bench:cluster: ${ROOMS} rooms x ${MEMBERS} members x ${OPS_PER_S} ops/s for ${SECONDS} s (${ROOMS * MEMBERS * OPS_PER_S} ops/s), model ${MODEL_ID}, ${CLIENT_PROCS} client processes, engine ${env().TF_BACKEND ?? 'wasm'}`);
  const out: Record<string, unknown> = { rooms: ROOMS, members: MEMBERS, ops_per_s_per_member: OPS_PER_S, seconds: SECONDS, model: MODEL_ID, rounds: ROUNDS };
  for (const name of CONFIGS) if (name !== 'one' && name !== 'two') throw new Error(`--configs takes one and two, got ${name}`);
  type Figures = { frames_per_s_delivered: number; op_to_frame_ms: { p95: number } };
  const runs: Record<string, Figures[]> = {};
  const fpsRatios: number[] = [];
  const p95Ratios: number[] = [];
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    // Alternate which configuration goes first: both halves of a round see the same machine.
    const order = round_ % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
    const here: Record<string, Figures> = {};
    for (const name of order) {
      say(`round ${round_ + 1}/${ROUNDS}: ${name}`);
      here[name] = (await measure(name as 'one' | 'two')) as unknown as Figures;
      (runs[name] ??= []).push(here[name]);
    }
    if (here['one'] && here['two']) {
      fpsRatios.push(here['two'].frames_per_s_delivered / here['one'].frames_per_s_delivered);
      p95Ratios.push(here['two'].op_to_frame_ms.p95 / here['one'].op_to_frame_ms.p95);
    }
  }
  for (const [name, list] of Object.entries(runs)) out[name] = ROUNDS === 1 ? list[0] : list;
  if (fpsRatios.length > 0) {
    out['frames_per_s_ratio_two_over_one'] = round(median(fpsRatios), 2);
    out['op_to_frame_p95_ratio_two_over_one'] = round(median(p95Ratios), 2);
    if (ROUNDS > 1) out['ratios_per_round'] = fpsRatios.map((r, i) => ({ frames_per_s: round(r, 2), op_to_frame_p95: round(p95Ratios[i]!, 2) }));
  }
  report(out);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
