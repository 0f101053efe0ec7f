/**
 * npm run bench:realtime [-- --json] [--seconds N] [--soak-seconds N] [--phases a,b,c]
 *   [--client-procs N] [--rooms N] [--room-ops-per-s N] [--soak-rooms N] [--soak-ops-per-s N]
 *   [--sample-seconds N] [--rounds N] [--database postgres://user@host:port/db]
 *
 * The real server (startServer: Socket.IO, rooms, op log on embedded PGlite in a temporary
 * directory, or with --database on a scratch database created on that PostgreSQL server and
 * dropped after; the engine in its worker thread on the wasm backend) in this process, driven by
 * real socket.io-client connections in separate client processes (bench/realtime-client.ts,
 * forked through tsx). The model is a trained MNIST DCGAN if the engine lists one (an id with
 * `dcgan-mnist`), else the built-in `dcgan-mnist-random` (same network, random weights: the
 * same decode cost). Members send `set` ops (a fresh 64-float latent each).
 *
 *   (a) one room, 8 members, each sending 30 ops/s for --seconds (60): acked ops lost (by every
 *       member's broadcasts and by the op log; target 0), version-order violations at any
 *       client (target 0), and op-send-to-frame latency at every member of the room, p50, p95
 *       (target <= 60 ms) and p99 (target <= 120 ms);
 *   (b) --rooms (50) rooms x 4 members, each member sending --room-ops-per-s (2) ops/s, run
 *       once with the engine's dynamic batching (DECODE_MAX_BATCH / DECODE_MAX_WAIT_MS, default
 *       32 / 0) and once with batch 1, the same load, --seconds each: frames/s delivered, the
 *       gain of batching (target >= 3x), and this process's event-loop lag p99 (target < 20 ms);
 *   (c) --soak-rooms (10) rooms x 4 members at --soak-ops-per-s (5) for --soak-seconds (600):
 *       RSS of this process (realtime thread and engine thread) and the engine's live tensors,
 *       sampled every --sample-seconds; flat after warm-up (the first quarter).
 *
 * Clock: clients stamp sends and frame arrivals with performance.timeOrigin + performance.now(),
 * the system clock every process on this one machine shares; see bench/realtime-client.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { startServer, type RunningServer } from '../server/app';
import { openDatabase, type Database } from '../server/db/open-database';
import type { DecodeBatchOptions } from '../server/inference/decode-batcher';
import { createEngineClient, type LocalEngineClient } from '../server/inference/engine-client';
import { describeEngine } from '../server/inference/engine-protocol';
import { BUILTIN_RANDOM_DCGAN_ID } from '../server/inference/model-registry';
import { env } from '../lib/env';
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

const SECONDS = num('seconds', 60);
const SOAK_SECONDS = num('soak-seconds', 600);
const PHASES = new Set((argValue('phases') ?? 'a,b,c').split(','));
const CLIENT_PROCS = Math.max(1, Math.round(num('client-procs', 4)));
const A_MEMBERS = 8;
const A_OPS_PER_S = 30;
const B_ROOMS = Math.round(num('rooms', 50));
const B_MEMBERS = 4;
const B_OPS_PER_S = num('room-ops-per-s', 2);
const B_ROUNDS = Math.max(1, Math.round(num('rounds', 1)));
const SOAK_ROOMS = Math.round(num('soak-rooms', 10));
const SOAK_OPS_PER_S = num('soak-ops-per-s', 5);
const SAMPLE_SECONDS = num('sample-seconds', Math.max(1, Math.min(10, SOAK_SECONDS / 20)));
/** After the senders stop: time for the last acks and frames to arrive. */
const DRAIN_MS = 3_000;
const LAG_RESOLUTION_MS = 10;
const POSTGRES_URL = argValue('database');
const CLIENT_SCRIPT = new URL('./realtime-client.ts', import.meta.url);
const DYNAMIC: DecodeBatchOptions = { maxBatch: env().DECODE_MAX_BATCH, maxWaitMs: env().DECODE_MAX_WAIT_MS };
const BATCH_1: DecodeBatchOptions = { maxBatch: 1, maxWaitMs: 0 };

interface Running {
  server: RunningServer;
  engine: LocalEngineClient;
  database: Database;
  modelId: string;
}

/** The real server on port 0 with its own engine worker and a fresh embedded database. */
async function withServer<T>(decodeBatch: DecodeBatchOptions, fn: (r: Running) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-realtime-'));
  const engine = await createEngineClient({ backend: 'wasm', decodeBatch });
  const scratch = POSTGRES_URL ? await scratchPostgres(POSTGRES_URL) : undefined;
  const database = await openDatabase(scratch?.url ?? join(dir, 'db'));
  const server = await startServer({ port: 0, engine, database });
  try {
    const models = await engine.models();
    const trained = models.find((m) => m.id.includes('dcgan-mnist') && m.trained);
    const modelId = trained?.id ?? BUILTIN_RANDOM_DCGAN_ID;
    return await fn({ server, engine, database, modelId });
  } finally {
    await server.close();
    await engine.close();
    await database.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

let scratchCount = 0;

/** A fresh database on the PostgreSQL server of `url`, dropped by `drop()`. */
async function scratchPostgres(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_realtime_${process.pid}_${scratchCount++}`;
  const admin = async (statement: string) => {
    const client = new pg.Client(url);
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  return { url: target.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** Creates `rooms` rooms with `members` editors each, spread over the client processes. */
async function layout(r: Running, rooms: number, members: number, opsPerS: number): Promise<MemberSpec[][]> {
  const groups: MemberSpec[][] = Array.from({ length: Math.min(CLIENT_PROCS, rooms * members) }, () => []);
  let seed = 1;
  let slot = 0;
  for (let i = 0; i < rooms; i++) {
    const { roomId, editorToken } = await r.server.rooms.create(r.modelId, `bench ${i}`);
    for (let j = 0; j < members; j++) {
      // Round-robin: the members of one room sit in different processes.
      groups[slot++ % groups.length]!.push({ key: `r${i}m${j}`, roomId, token: editorToken, opsPerS, seed: seed++ });
    }
  }
  return groups;
}

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

interface Driven {
  results: MemberResult[];
  startAt: number;
  durationMs: number;
  /** Event-loop lag of this (the realtime) process over the run, ms beyond the timer resolution. */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** CPU time of this process (realtime and engine threads) over the run, % of one core. */
  serverCpuPercent: number;
  /** The machine's 1-minute load average at the end of the run (2 cores; other jobs included). */
  loadAverage: number;
}

/**
 * Runs the members for `seconds` from separate client processes; `during` is called once the
 * load runs (the soak samples memory in it).
 */
async function drive(url: string, groups: MemberSpec[][], seconds: number, during?: () => Promise<void>): Promise<Driven> {
  const children = groups.map(() =>
    fork(CLIENT_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' }),
  );
  try {
    const ready = children.map((c) => waitFor(c, 'ready'));
    children.forEach((c, i) => c.send({ type: 'setup', url, members: groups[i]! } satisfies ParentMessage));
    await Promise.all(ready);
    const durationMs = seconds * 1000;
    const startAt = now() + 500;
    const results = children.map((c) => waitFor(c, 'result'));
    for (const c of children) c.send({ type: 'run', startAt, durationMs, drainMs: DRAIN_MS } satisfies ParentMessage);
    const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    await new Promise((r) => setTimeout(r, Math.max(0, startAt - now())));
    lag.enable();
    const cpu0 = process.cpuUsage();
    await Promise.all([new Promise((r) => setTimeout(r, durationMs)), during?.()]);
    const cpu = process.cpuUsage(cpu0);
    lag.disable();
    const out = (await Promise.all(results)).flatMap((m) => m.members);
    const beyond = (ns: number) => round(Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS), 2);
    return {
      results: out,
      startAt,
      durationMs,
      lagP50Ms: beyond(lag.percentile(50)),
      lagP99Ms: beyond(lag.percentile(99)),
      lagMaxMs: beyond(lag.max),
      serverCpuPercent: round(((cpu.user + cpu.system) / 1000 / durationMs) * 100, 0),
      loadAverage: round(loadavg()[0]!, 2),
    };
  } finally {
    for (const c of children) if (c.connected) c.disconnect();
  }
}

async function phaseA(): Promise<Record<string, unknown>> {
  say(`(a) 1 room x ${A_MEMBERS} members x ${A_OPS_PER_S} ops/s for ${SECONDS} s, ${CLIENT_PROCS} client processes`);
  return withServer(DYNAMIC, async (r) => {
    const groups = await layout(r, 1, A_MEMBERS, A_OPS_PER_S);
    const d = await drive(r.server.url, groups, SECONDS);
    const a = await analyse(d.results, r.database);
    say(
      `    lost ${a.lost_acked_ops}, order violations ${a.version_order_violations}, ` +
        `op-to-frame p50/p95/p99 ${a.op_to_frame_ms.p50}/${a.op_to_frame_ms.p95}/${a.op_to_frame_ms.p99} ms, load ${d.loadAverage}`,
    );
    return {
      model: r.modelId,
      ...a,
      ops_acked_per_s: round(a.ops_acked / SECONDS, 1),
      frames_per_s_per_member: round(framesPerSecond(d.results, d.startAt, d.durationMs).delivered / A_MEMBERS, 1),
      event_loop_lag_p99_ms: d.lagP99Ms,
      server_cpu_percent: d.serverCpuPercent,
      load_average: d.loadAverage,
      targets_met: a.lost_acked_ops === 0 && a.lost_in_op_log === 0 && a.version_order_violations === 0 && a.op_to_frame_ms.p95 <= 60 && a.op_to_frame_ms.p99 <= 120,
    };
  });
}

async function phaseBOnce(batch: DecodeBatchOptions): Promise<Record<string, number>> {
  return withServer(batch, async (r) => {
    const groups = await layout(r, B_ROOMS, B_MEMBERS, B_OPS_PER_S);
    const before = await r.engine.decodeStats();
    const d = await drive(r.server.url, groups, SECONDS);
    const after = await r.engine.decodeStats();
    const a = await analyse(d.results, r.database);
    const fps = framesPerSecond(d.results, d.startAt, d.durationMs);
    const figures = {
      frames_delivered_per_s: fps.delivered,
      frames_rendered_per_s: fps.rendered,
      mean_batch: round((after.latents - before.latents) / Math.max(1, after.batches - before.batches), 2),
      ops_acked_per_s: round(a.ops_acked / SECONDS, 1),
      op_to_frame_p50_ms: a.op_to_frame_ms.p50,
      op_to_frame_p95_ms: a.op_to_frame_ms.p95,
      event_loop_lag_p50_ms: d.lagP50Ms,
      event_loop_lag_p99_ms: d.lagP99Ms,
      event_loop_lag_max_ms: d.lagMaxMs,
      server_cpu_percent: d.serverCpuPercent,
      load_average: d.loadAverage,
      lost_acked_ops: a.lost_acked_ops + a.lost_in_op_log,
      version_order_violations: a.version_order_violations,
    };
    say(
      `    max batch ${batch.maxBatch}: ${fps.delivered} frames/s delivered (${fps.rendered} rendered, mean batch ${figures.mean_batch}), ` +
        `lag p99 ${d.lagP99Ms} ms, server CPU ${d.serverCpuPercent}%, load ${d.loadAverage}`,
    );
    return figures;
  });
}

async function phaseB(): Promise<Record<string, unknown>> {
  say(`(b) ${B_ROOMS} rooms x ${B_MEMBERS} members x ${B_OPS_PER_S} ops/s for ${SECONDS} s per configuration, ${B_ROUNDS} round(s)`);
  const dynamic: Record<string, number>[] = [];
  const single: Record<string, number>[] = [];
  const gains: number[] = [];
  for (let i = 0; i < B_ROUNDS; i++) {
    // Alternate which goes first, so a drift in the machine's load does not favour one.
    const order = i % 2 === 0 ? (['single', 'dynamic'] as const) : (['dynamic', 'single'] as const);
    for (const which of order) (which === 'single' ? single : dynamic).push(await phaseBOnce(which === 'single' ? BATCH_1 : DYNAMIC));
    gains.push(dynamic[i]!.frames_delivered_per_s! / single[i]!.frames_delivered_per_s!);
  }
  const med = (rows: Record<string, number>[]) =>
    Object.fromEntries(Object.keys(rows[0]!).map((k) => [k, round(median(rows.map((r) => r[k]!)), 2)]));
  const dyn = med(dynamic);
  const gain = round(median(gains), 2);
  return {
    dynamic: { max_batch: DYNAMIC.maxBatch, max_wait_ms: DYNAMIC.maxWaitMs, ...dyn },
    batch_1: med(single),
    batching_gain: gain,
    batching_gain_per_round: gains.map((g) => round(g, 2)),
    targets_met: gain >= 3 && dyn.event_loop_lag_p99_ms! < 20,
  };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

async function phaseC(): Promise<Record<string, unknown>> {
  say(`(c) soak: ${SOAK_ROOMS} rooms x ${B_MEMBERS} members x ${SOAK_OPS_PER_S} ops/s for ${SOAK_SECONDS} s, sampled every ${SAMPLE_SECONDS} s`);
  return withServer(DYNAMIC, async (r) => {
    const groups = await layout(r, SOAK_ROOMS, B_MEMBERS, SOAK_OPS_PER_S);
    const samples: { t: number; rss_mb: number; heap_mb: number; tensors: number; tensor_mb: number }[] = [];
    let t0 = 0;
    const sample = async () => {
      const { numTensors, numBytes } = await r.engine.memory();
      const mem = process.memoryUsage();
      samples.push({
        t: round((now() - t0) / 1000, 1),
        rss_mb: round(mem.rss / 2 ** 20, 1),
        heap_mb: round(mem.heapUsed / 2 ** 20, 1),
        tensors: numTensors,
        tensor_mb: round(numBytes / 2 ** 20, 2),
      });
    };
    const d = await drive(r.server.url, groups, SOAK_SECONDS, async () => {
      t0 = now();
      while (now() - t0 < SOAK_SECONDS * 1000) {
        await sample();
        await new Promise((res) => setTimeout(res, Math.min(SAMPLE_SECONDS * 1000, SOAK_SECONDS * 1000 - (now() - t0))));
      }
      await sample();
    });
    const a = await analyse(d.results, r.database);
    const warm = samples.slice(Math.floor(samples.length / 4));
    const rss = warm.map((s) => s.rss_mb);
    const tensors = warm.map((s) => s.tensors);
    const figures = {
      seconds: SOAK_SECONDS,
      samples: samples.length,
      warmup_samples: samples.length - warm.length,
      rss_mb_after_warmup: { first: rss[0], last: rss.at(-1), min: Math.min(...rss), max: Math.max(...rss) },
      rss_mb_per_min_after_warmup: round(slope(warm.map((s) => s.t / 60), rss), 2),
      heap_mb_after_warmup: { first: warm[0]?.heap_mb, last: warm.at(-1)?.heap_mb },
      tensors_after_warmup: { min: Math.min(...tensors), max: Math.max(...tensors) },
      ops_acked: a.ops_acked,
      lost_acked_ops: a.lost_acked_ops + a.lost_in_op_log,
      version_order_violations: a.version_order_violations,
      op_to_frame_p95_ms: a.op_to_frame_ms.p95,
      event_loop_lag_p99_ms: d.lagP99Ms,
      server_cpu_percent: d.serverCpuPercent,
      load_average: d.loadAverage,
      series: samples.map((s) => [s.t, s.rss_mb, s.tensors]),
    };
    say(`    RSS after warm-up ${figures.rss_mb_after_warmup.first} -> ${figures.rss_mb_after_warmup.last} MB (${figures.rss_mb_per_min_after_warmup} MB/min), tensors ${figures.tensors_after_warmup.min}..${figures.tensors_after_warmup.max}`);
    return figures;
  });
}

async function main(): Promise<void> {
  const probe = await createEngineClient({ backend: 'wasm' });
  const engineLine = describeEngine(probe.info);
  await probe.close();
  say(engineLine);
  const figures: Record<string, unknown> = {
    engine: engineLine,
    database: POSTGRES_URL ? 'postgres' : 'pglite',
    client_processes: CLIENT_PROCS, clock: 'performance.timeOrigin + performance.now() in every process (one machine, one system clock)' };
  if (PHASES.has('a')) figures.one_room = await phaseA();
  if (PHASES.has('b')) figures.many_rooms = await phaseB();
  if (PHASES.has('c') && SOAK_SECONDS > 0) figures.soak = await phaseC();
  report(figures);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
