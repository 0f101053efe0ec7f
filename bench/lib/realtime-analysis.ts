/**
 * What bench/realtime.ts and bench/cluster.ts compute from their clients' raw results: acked ops
 * lost (at the members and in the op log), order violations, and op-to-frame latency at every
 * member of the sender's room.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../server/db/open-database';
import { quantile, round } from './report';
import { stateHash, type MemberResult } from './realtime-wire';

/** Index of the first entry of the non-decreasing `xs` that is >= v, or -1. */
function firstAtLeast(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < xs.length ? lo : -1;
}

export interface Analysis {
  ops_sent: number;
  ops_acked: number;
  op_errors: Record<string, number>;
  lost_acked_ops: number;
  lost_in_op_log: number;
  version_order_violations: number;
  state_order_violations: number;
  frame_order_violations: number;
  disconnects: number;
  latency_samples: number;
  latency_missing: number;
  op_to_frame_ms: { p50: number; p95: number; p99: number; max: number };
  op_to_own_frame_ms: { p50: number; p95: number; p99: number };
  frames_delivered: number;
  frames_rendered: number;
}

/** Lost ops, order, and op-to-frame latency at every member of the sender's room. */
export async function analyse(results: MemberResult[], database: Database): Promise<Analysis> {
  const byRoom = new Map<string, MemberResult[]>();
  for (const m of results) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m]);
  const latencies: number[] = [];
  const own: number[] = [];
  let sent = 0;
  let acked = 0;
  let lost = 0;
  let lostInLog = 0;
  let missing = 0;
  let framesDelivered = 0;
  let framesRendered = 0;
  const errors: Record<string, number> = {};
  for (const [roomId, members] of byRoom) {
    const expected = new Map<number, number>();
    const duplicated = new Set<number>();
    const stateAt = members.map((m) => {
      const map = new Map<number, number>();
      m.stateVersion.forEach((v, i) => map.set(v, m.stateHash[i]!));
      return map;
    });
    // Frames in arrival order, with a running maximum of versions (a client paints only newer ones).
    const frames = members.map((m) => {
      let max = -1;
      return { versions: m.frameVersion.map((v) => (max = Math.max(max, v))), t: m.frameT };
    });
    const rendered = new Set<number>();
    for (const m of members) {
      framesDelivered += m.frameVersion.length;
      for (const v of m.frameVersion) rendered.add(v);
    }
    framesRendered += rendered.size;
    const log = new Map<number, { memberId: string; hash: number }>();
    const rows = await database.rows<{ version: number; member_id: string; op: { state: { z: number[] } } }>(
      sql`select version, member_id, op from room_ops where room_id = ${roomId} and version > 0`,
    );
    for (const r of rows) log.set(Number(r.version), { memberId: r.member_id, hash: stateHash(r.member_id, r.op.state.z) });
    for (const sender of members) {
      for (const [code, n] of Object.entries(sender.opErrors)) errors[code] = (errors[code] ?? 0) + n;
      sent += sender.opSendT.length;
      sender.opVersion.forEach((v, i) => {
        if (v < 0) return;
        acked += 1;
        const hash = sender.opHash[i]!;
        if (expected.has(v)) duplicated.add(v);
        expected.set(v, hash);
        // Lost: some member never got this version's state, or got another one.
        if (stateAt.some((s) => s.get(v) !== hash)) lost += 1;
        const logged = log.get(v);
        if (!logged || logged.memberId !== sender.memberId || logged.hash !== hash) lostInLog += 1;
        const sendT = sender.opSendT[i]!;
        members.forEach((_, j) => {
          const k = firstAtLeast(frames[j]!.versions, v);
          if (k < 0) {
            missing += 1;
            return;
          }
          const ms = frames[j]!.t[k]! - sendT;
          latencies.push(ms);
          if (members[j] === sender) own.push(ms);
        });
      });
    }
    lost += duplicated.size;
  }
  const stateViolations = results.reduce((n, m) => n + m.stateOrderViolations, 0);
  const frameViolations = results.reduce((n, m) => n + m.frameOrderViolations, 0);
  const q = (xs: number[], p: number) => round(quantile(xs, p), 1);
  return {
    ops_sent: sent,
    ops_acked: acked,
    op_errors: errors,
    lost_acked_ops: lost,
    lost_in_op_log: lostInLog,
    version_order_violations: stateViolations + frameViolations,
    state_order_violations: stateViolations,
    frame_order_violations: frameViolations,
    disconnects: results.reduce((n, m) => n + m.disconnects, 0) - results.length, // each member's own final disconnect
    latency_samples: latencies.length,
    latency_missing: missing,
    op_to_frame_ms: { p50: q(latencies, 0.5), p95: q(latencies, 0.95), p99: q(latencies, 0.99), max: round(latencies.reduce((a, b) => Math.max(a, b), -Infinity), 1) },
    op_to_own_frame_ms: { p50: q(own, 0.5), p95: q(own, 0.95), p99: q(own, 0.99) },
    frames_delivered: framesDelivered,
    frames_rendered: framesRendered,
  };
}

/** Frames received by all clients within the load window [startAt, startAt + durationMs], per second. */
export function framesPerSecond(results: MemberResult[], startAt: number, durationMs: number): { delivered: number; rendered: number } {
  const end = startAt + durationMs;
  let delivered = 0;
  const rendered = new Set<string>();
  for (const m of results) {
    m.frameT.forEach((t, i) => {
      if (t < startAt || t > end) return;
      delivered += 1;
      rendered.add(`${m.roomId}:${m.frameVersion[i]}`);
    });
  }
  const s = durationMs / 1000;
  return { delivered: round(delivered / s, 1), rendered: round(rendered.size / s, 1) };
}
