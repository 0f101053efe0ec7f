/**
 * The authoritative latent state of a room and the pure function that applies one op to it.
 * No I/O: the room (./room.ts) calls this in arrival order, persists the result, then acks and
 * broadcasts. The same `advance` rebuilds the undo history when a room reloads from its op log.
 *
 * Every z is a Float32Array: the float32 rounding happens here, once, so the server, the op log
 * and every client hold bit-identical values (SPEC O9).
 */
import { seededNormal } from '../../lib/latent/random';
import { addScaled, hasLength, isFiniteVector, lerp, normalize, slerp, weightedSum } from '../../lib/latent/vector';
import { UNDO_DEPTH, type LatentOp, type LatentOpKind, type VectorRef } from '../../lib/protocol/rooms';
import { RequestError } from '../realtime/ack';

export interface LatentSnapshot {
  z: Float32Array;
  psi: number;
  classLabel: number | null;
}

export interface LatentHistory {
  version: number;
  current: LatentSnapshot;
  /** States to go back to, newest last, at most UNDO_DEPTH. */
  undo: readonly LatentSnapshot[];
}

/** What an op may refer to besides inline vectors. */
export interface OpContext {
  latentDim: number;
  bookmark(id: string): Float32Array | undefined;
  direction(id: string): Float32Array | undefined;
}

export function initialHistory(current: LatentSnapshot, version = 0): LatentHistory {
  return { version, current, undo: [] };
}

/**
 * Moves a history one version forward to `next`, produced by an op of `kind`: an undo pops the
 * stack, anything else pushes the state it replaces. Used for live ops and for replaying the log.
 */
export function advance(history: LatentHistory, kind: LatentOpKind, next: LatentSnapshot): LatentHistory {
  let undo: LatentSnapshot[];
  if (kind === 'undo') undo = history.undo.slice(0, -1);
  else {
    undo = [...history.undo, history.current];
    if (undo.length > UNDO_DEPTH) undo.shift();
  }
  return { version: history.version + 1, current: next, undo };
}

function badRequest(message: string): never {
  throw new RequestError('bad-request', message);
}

/** A vector from the wire: exactly latentDim finite entries, rounded to float32 (SPEC E4). */
export function checkedVector(values: readonly number[], latentDim: number, what: string): Float32Array {
  if (!hasLength(values, latentDim)) badRequest(`${what} must have ${latentDim} values, got ${values.length}`);
  const v = Float32Array.from(values);
  if (!isFiniteVector(v)) badRequest(`${what} must be finite in float32`);
  return v;
}

function resolve(ref: VectorRef, history: LatentHistory, ctx: OpContext, what: string): Float32Array {
  if ('current' in ref) return history.current.z;
  if ('vector' in ref) return checkedVector(ref.vector, ctx.latentDim, what);
  const found = 'bookmark' in ref ? ctx.bookmark(ref.bookmark) : ctx.direction(ref.direction);
  if (!found) throw new RequestError('not-found', `${what}: no such ${'bookmark' in ref ? 'bookmark' : 'direction'}`);
  return found;
}

function withZ(history: LatentHistory, z: Float32Array): LatentSnapshot {
  // A finite input can still overflow (a sum of large terms): the result is checked too (E4).
  if (!isFiniteVector(z)) badRequest('the result is not finite in float32');
  // JSON writes -0 as 0: store +0 so the server holds what every client and the op log hold.
  for (let i = 0; i < z.length; i++) if (Object.is(z[i], -0)) z[i] = 0;
  return { ...history.current, z };
}

/**
 * Applies `op` to `history`, returning the next history (version + 1). Throws a RequestError
 * (bad-request, not-found) and changes nothing when the op cannot apply.
 */
export function applyOp(history: LatentHistory, op: LatentOp, ctx: OpContext): LatentHistory {
  let next: LatentSnapshot;
  switch (op.kind) {
    case 'set':
      next = withZ(history, checkedVector(op.z, ctx.latentDim, 'z'));
      break;
    case 'nudge': {
      const unit = normalize(resolve(op.direction, history, ctx, 'direction'));
      if (!unit) badRequest('direction must not be zero');
      next = withZ(history, addScaled(history.current.z, unit, op.amount));
      break;
    }
    case 'lerp':
    case 'slerp': {
      const from = resolve(op.from, history, ctx, 'from');
      const to = resolve(op.to, history, ctx, 'to');
      next = withZ(history, (op.kind === 'lerp' ? lerp : slerp)(from, to, op.t));
      break;
    }
    case 'sum': {
      const terms = op.terms.map((t, i) => ({ vector: resolve(t.ref, history, ctx, `terms[${i}]`), weight: t.weight }));
      next = withZ(history, weightedSum(terms, ctx.latentDim));
      break;
    }
    case 'random':
      next = withZ(history, seededNormal(op.seed, ctx.latentDim));
      break;
    case 'psi':
      next = { ...history.current, psi: Math.fround(op.psi) + 0 }; // + 0: no -0 (see withZ)
      break;
    case 'undo': {
      const previous = history.undo[history.undo.length - 1];
      if (!previous) badRequest('nothing to undo');
      next = previous;
      break;
    }
  }
  return advance(history, op.kind, next);
}
