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
  /** Active direction weights (SPEC O11): id → float32 weight, zeros absent. */
  weights: Readonly<Record<string, number>>;
}

export interface LatentHistory {
  version: number;
  current: LatentSnapshot;
  /** States to go back to, newest last, at most UNDO_DEPTH. */
  undo: readonly LatentSnapshot[];
  /** States undone, to re-apply (SPEC O12), newest last, at most UNDO_DEPTH. */
  redo: readonly LatentSnapshot[];
}

/** What an op may refer to besides inline vectors. */
export interface OpContext {
  latentDim: number;
  /** Classes of a conditional model; null for unconditional ones (no `class` ops). */
  numClasses: number | null;
  bookmark(id: string): Float32Array | undefined;
  direction(id: string): Float32Array | undefined;
  /**
   * The room's state at a past version (SPEC O13), for `revert`. Synchronous: the room loads
   * it from the op log before it applies the op (in arrival order).
   */
  stateAt(version: number): LatentSnapshot | undefined;
}

export function initialHistory(current: LatentSnapshot, version = 0): LatentHistory {
  return { version, current, undo: [], redo: [] };
}

/** `stack` with `state` on top, keeping the newest UNDO_DEPTH. */
function push(stack: readonly LatentSnapshot[], state: LatentSnapshot): LatentSnapshot[] {
  const next = [...stack, state];
  if (next.length > UNDO_DEPTH) next.shift();
  return next;
}

/**
 * Moves a history one version forward to `next`, produced by an op of `kind`: an undo pops the
 * undo stack and pushes the state it leaves onto the redo stack, a redo does the reverse, and any
 * other op (revert included) pushes the state it replaces and empties the redo stack. Used for
 * live ops and for replaying the log.
 */
export function advance(history: LatentHistory, kind: LatentOpKind, next: LatentSnapshot): LatentHistory {
  let undo: LatentSnapshot[];
  let redo: LatentSnapshot[];
  if (kind === 'undo') {
    undo = history.undo.slice(0, -1);
    redo = push(history.redo, history.current);
  } else if (kind === 'redo') {
    undo = push(history.undo, history.current);
    redo = history.redo.slice(0, -1);
  } else {
    undo = push(history.undo, history.current);
    redo = [];
  }
  return { version: history.version + 1, current: next, undo, redo };
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

/** float32, and +0 for -0 (JSON writes -0 as 0: the server holds what every client holds). */
function f32(x: number): number {
  return Math.fround(x) + 0;
}

/**
 * The state with a new z. `weights` are the direction weights that go with it: an op that
 * replaces z (set, lerp, slerp, sum, random) starts them afresh ({}), a move keeps them.
 */
function withZ(history: LatentHistory, z: Float32Array, weights: LatentSnapshot['weights'] = {}): LatentSnapshot {
  // A finite input can still overflow (a sum of large terms): the result is checked too (E4).
  if (!isFiniteVector(z)) badRequest('the result is not finite in float32');
  for (let i = 0; i < z.length; i++) if (Object.is(z[i], -0)) z[i] = 0;
  return { ...history.current, z, weights };
}

/** `weights` with `id` set to `weight` (float32; removed at 0). */
function withWeight(weights: LatentSnapshot['weights'], id: string, weight: number): Record<string, number> {
  const { [id]: _old, ...rest } = weights;
  const w = f32(weight);
  return w === 0 ? rest : { ...rest, [id]: w };
}

function storedDirection(id: string, history: LatentHistory, ctx: OpContext): Float32Array {
  const unit = normalize(resolve({ direction: id }, history, ctx, 'direction'));
  if (!unit) badRequest('direction must not be zero');
  return unit;
}

/**
 * Applies `op` to `history`, returning the next history (version + 1). Throws a RequestError
 * (bad-request, not-found) and changes nothing when the op cannot apply.
 */
export function applyOp(history: LatentHistory, op: LatentOp, ctx: OpContext): LatentHistory {
  let next: LatentSnapshot;
  switch (op.kind) {
    case 'set':
    case 'steer': // a steer's z was computed by the directions worker; it lands like a set (D7)
      next = withZ(history, checkedVector(op.z, ctx.latentDim, 'z'));
      break;
    case 'nudge': {
      const unit = normalize(resolve(op.direction, history, ctx, 'direction'));
      if (!unit) badRequest('direction must not be zero');
      const { weights } = history.current;
      // Along a stored direction the nudge moves its slider too (O11); other vectors leave them.
      const id = 'direction' in op.direction ? op.direction.direction : undefined;
      const nextWeights = id === undefined ? weights : withWeight(weights, id, (weights[id] ?? 0) + op.amount);
      next = withZ(history, addScaled(history.current.z, unit, op.amount), nextWeights);
      break;
    }
    case 'weight': {
      const unit = storedDirection(op.direction, history, ctx);
      const { weights } = history.current;
      const target = withWeight(weights, op.direction, op.weight);
      const delta = (target[op.direction] ?? 0) - (weights[op.direction] ?? 0);
      next = withZ(history, addScaled(history.current.z, unit, delta), target);
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
      next = { ...history.current, psi: f32(op.psi) };
      break;
    case 'class':
      if (ctx.numClasses === null) badRequest('this model is not conditional: it has no classes');
      if (op.classLabel >= ctx.numClasses) badRequest(`class must be in 0…${ctx.numClasses - 1}, got ${op.classLabel}`);
      next = { ...history.current, classLabel: op.classLabel };
      break;
    case 'undo': {
      const previous = history.undo[history.undo.length - 1];
      if (!previous) badRequest('nothing to undo');
      next = previous;
      break;
    }
    case 'redo': {
      const undone = history.redo[history.redo.length - 1];
      if (!undone) badRequest('nothing to redo');
      next = undone;
      break;
    }
    case 'revert': {
      if (op.version > history.version) badRequest(`no version ${op.version}: the room is at version ${history.version}`);
      const past = ctx.stateAt(op.version);
      if (!past) throw new RequestError('not-found', `version ${op.version} is not in the op log`);
      next = past;
      break;
    }
  }
  return advance(history, op.kind, next);
}
