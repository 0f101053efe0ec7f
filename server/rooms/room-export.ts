/**
 * Room export and import (SPEC X1, X2). An export is the room's op log with the state after every
 * op, its bookmarks and the model's weights hash (lib/protocol/room-export.ts); an import checks
 * it against the model this server has (vector lengths, float32 finiteness, classes, a log of
 * versions 0…n whose last state is the room's) and plans a new room that reproduces it: the same
 * states at the same versions, so the same frames, and the same bookmarks under new ids (op
 * references to them are rewritten), with undo and redo stacks rebuilt for the checkpoints.
 */
import { randomUUID } from 'node:crypto';
import { isFiniteVector } from '../../lib/latent/vector';
import { ROOM_EXPORT_FORMAT, ROOM_EXPORT_FORMAT_VERSION, type RoomExport, type RoomExportSchema } from '../../lib/protocol/room-export';
import type { LatentOp, VectorRef } from '../../lib/protocol/rooms';
import type { z } from 'zod';
import type { ModelSummary } from '../inference/engine-protocol';
import type { ModelShape } from './room';
import type { RoomImport } from './registry';
import { advance, initialHistory, type LatentHistory } from './room-state';
import { CHECKPOINT_EVERY, fromStored, publicBookmark, toStored, type RoomStore, type StoredOp, type StoredState } from './room-store';

/** An export that does not fit this server's model: 400 with the reason. */
export class ImportInputError extends Error {}

/** The room's export, or undefined for an unknown room. */
export async function exportRoom(store: RoomStore, roomId: string, weightsHash: string | null): Promise<RoomExport | undefined> {
  const snap = await store.exportSnapshot(roomId);
  if (!snap) return undefined;
  const last = snap.log[snap.log.length - 1];
  if (!last) throw new Error(`room ${roomId} has no op log`);
  const state = (s: StoredState) => ({ z: s.z, psi: s.psi, classLabel: s.classLabel, weights: { ...s.weights } });
  return {
    format: ROOM_EXPORT_FORMAT,
    formatVersion: ROOM_EXPORT_FORMAT_VERSION,
    exportedAt: new Date().toISOString(),
    room: {
      id: snap.room.id,
      name: snap.room.name,
      modelId: snap.room.modelId,
      createdAt: snap.room.createdAt.toISOString(),
      version: last.version,
      ...state(last.entry.state),
    },
    log: snap.log.map((r) => ({
      version: r.version,
      kind: r.entry.kind,
      by: r.memberId,
      byName: r.memberName,
      at: r.createdAt.toISOString(),
      ...(r.entry.op ? { op: r.entry.op } : {}),
      state: state(r.entry.state),
      ...(r.entry.origin ? { origin: r.entry.origin } : {}),
    })),
    bookmarks: snap.bookmarks.map(publicBookmark),
    model: { id: snap.room.modelId, weightsHash },
  };
}

type ParsedExport = z.infer<typeof RoomExportSchema>;
type ParsedState = ParsedExport['log'][number]['state'];

function fail(message: string): never {
  throw new ImportInputError(message);
}

/** A state checked against the model and rounded to float32 (SPEC O9), as the room holds it. */
function checkedState(s: ParsedState, model: ModelShape, what: string): StoredState {
  if (s.z.length !== model.latentDim) fail(`${what}: z has ${s.z.length} values; model takes ${model.latentDim}`);
  if (!isFiniteVector(Float32Array.from(s.z))) fail(`${what}: z is not finite in float32`);
  checkClass(s.classLabel, model, what);
  const stored = toStored(fromStored({ ...s, weights: Object.fromEntries(Object.entries(s.weights).map(([id, w]) => [id, Math.fround(w) + 0])) }));
  stored.psi = Math.fround(s.psi) + 0;
  return stored;
}

function checkClass(classLabel: number | null, model: ModelShape, what: string): void {
  const classes = model.numClasses ?? null;
  if (classes === null && classLabel !== null) fail(`${what}: class ${classLabel}, but model is not conditional`);
  if (classes !== null && (classLabel === null || classLabel >= classes)) fail(`${what}: class must be in 0…${classes - 1}`);
}

/** `ref` with a bookmark id replaced by its new id. */
function remapRef(ref: VectorRef, ids: Map<string, string>): VectorRef {
  return 'bookmark' in ref ? { bookmark: ids.get(ref.bookmark) ?? ref.bookmark } : ref;
}

/** The op with references to imported bookmarks pointing at their new ids. */
function remapOp(op: LatentOp, ids: Map<string, string>): LatentOp {
  switch (op.kind) {
    case 'nudge':
      return { ...op, direction: remapRef(op.direction, ids) };
    case 'lerp':
    case 'slerp':
      return { ...op, from: remapRef(op.from, ids), to: remapRef(op.to, ids) };
    case 'sum':
      return { ...op, terms: op.terms.map((t) => ({ ...t, ref: remapRef(t.ref, ids) })) };
    default:
      return op;
  }
}

/** Equal states, in their stored (float32, JSON) form. */
function sameState(a: StoredState, b: StoredState): boolean {
  const key = (s: StoredState) => JSON.stringify([s.z, s.psi, s.classLabel, Object.entries(s.weights ?? {}).sort()]);
  return key(a) === key(b);
}

/**
 * Checks a parsed export against `model` (the engine's, with its current weights hash) and plans
 * the new room. Throws ImportInputError with the first problem found.
 */
export function planImport(doc: ParsedExport, model: ModelSummary & ModelShape): RoomImport & { weightsChanged: boolean } {
  const { room, log } = doc;
  if (doc.model.id !== room.modelId) fail(`model.id ${doc.model.id} is not the room's model ${room.modelId}`);
  if (room.modelId !== model.id) fail(`the export is of model ${room.modelId}`);
  if (log.length !== room.version + 1) fail(`the log has ${log.length} rows; a room at version ${room.version} has ${room.version + 1}`);

  const ids = new Map(doc.bookmarks.map((b) => [b.id, randomUUID()]));
  if (ids.size !== doc.bookmarks.length) fail('two bookmarks share an id');

  let history: LatentHistory | undefined;
  const planned: RoomImport['log'] = log.map((row, i) => {
    const what = `log[${i}]`;
    if (row.version !== i) fail(`${what}: version ${row.version}, expected ${i} (versions run 0…n)`);
    if ((i === 0) !== (row.kind === 'create')) fail(`${what}: ${i === 0 ? 'the first row is the room\'s first state, kind create' : 'only version 0 is kind create'}`);
    if (i === 0 && row.op) fail(`${what}: the first state has no op`);
    if (i > 0 && !row.op) fail(`${what}: the op is missing`);
    if (row.op && row.op.kind !== row.kind) fail(`${what}: kind ${row.kind} but op.kind ${row.op.kind}`);
    const state = checkedState(row.state, model, what);
    const entry: StoredOp = { kind: row.kind, state };
    if (row.op) entry.op = remapOp(row.op, ids);
    // Undo and redo stacks for the checkpoints, rebuilt as the room would have kept them.
    history = history && row.kind !== 'create' ? advance(history, row.kind, fromStored(state)) : initialHistory(fromStored(state), 0);
    if (i > 0 && i % CHECKPOINT_EVERY === 0) {
      entry.undo = history.undo.map(toStored);
      entry.redo = history.redo.map(toStored);
    }
    return { version: i, memberId: row.by, memberName: row.byName, createdAt: new Date(row.at), entry };
  });
  const first = planned[0]!.entry;
  first.origin = { import: { roomId: room.id ?? '', modelId: room.modelId, weightsHash: doc.model.weightsHash } };
  if (!sameState(checkedState(room, model, 'room'), planned[planned.length - 1]!.entry.state)) fail(`room: its state is not the state of the log's last row (version ${room.version})`);

  const bookmarks = doc.bookmarks.map((b, i) => {
    const what = `bookmarks[${i}]`;
    if (b.modelId !== room.modelId) fail(`${what}: of model ${b.modelId}, not the room's ${room.modelId}`);
    if (b.version > room.version) fail(`${what}: version ${b.version} is past the room's ${room.version}`);
    const state = checkedState({ z: b.z, psi: b.psi, classLabel: b.classLabel, weights: {} }, model, what);
    return {
      id: ids.get(b.id)!,
      modelId: b.modelId,
      name: b.name,
      tags: b.tags,
      z: state.z,
      classLabel: state.classLabel,
      psi: state.psi,
      weightsHash: b.weightsHash,
      version: b.version,
      createdBy: b.createdBy,
      createdAt: new Date(b.createdAt),
    };
  });

  return {
    name: room.name,
    modelId: room.modelId,
    log: planned,
    bookmarks,
    weightsChanged: (doc.model.weightsHash ?? null) !== (model.weightsHash ?? null),
  };
}
