/**
 * What bench/realtime.ts and its client processes (bench/realtime-client.ts) exchange over IPC,
 * and the clock and state hash both sides use.
 */

export interface MemberSpec {
  key: string;
  roomId: string;
  token: string;
  /** Ops per second this member sends (0: watches only). */
  opsPerS: number;
  /** Seeds the latents this member sends. */
  seed: number;
}

export type ParentMessage =
  | { type: 'setup'; url: string; members: MemberSpec[] }
  | { type: 'run'; startAt: number; durationMs: number; drainMs: number };

export interface MemberResult {
  key: string;
  roomId: string;
  memberId: string;
  /** Version of the join snapshot. */
  joinedAt: number;
  /** Per op sent: shared-clock send time, acked version (-1: refused or timed out), and the hash the state of that version must have. */
  opSendT: number[];
  opVersion: number[];
  opHash: number[];
  opErrors: Record<string, number>;
  /** Every latent:state received, in arrival order: version and hash of (by, z). */
  stateVersion: number[];
  stateHash: number[];
  /** Every frame received, in arrival order: version and shared-clock arrival time. */
  frameVersion: number[];
  frameT: number[];
  /** States whose version was not the previous one + 1; frames not newer than the previous one. */
  stateOrderViolations: number;
  frameOrderViolations: number;
  disconnects: number;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'result'; members: MemberResult[] };

export const now = (): number => performance.timeOrigin + performance.now();

/** FNV-1a over a member id and the bytes of a float32 vector: what a state must match. */
export function stateHash(by: string, z: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < by.length; i++) h = Math.imul(h ^ by.charCodeAt(i), 0x01000193);
  const bytes = new Uint8Array(Float32Array.from(z as number[]).buffer);
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}
