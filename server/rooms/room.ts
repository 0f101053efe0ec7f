/**
 * One live room: its members, its authoritative latent history, its bookmarks, and the two
 * outbound paths: acked state (applied in arrival order, persisted in group commits before the
 * ack and the `latent:state` broadcast, SPEC O1/R2) and newest-only frames (SPEC F1).
 *
 * Only the registry (./registry.ts) constructs rooms.
 */
import type { DirectionScores } from '../../lib/protocol/directions';
import type { Bookmark, DirectionInfo, FrameBroadcast, LatentOp, LatentStateBroadcast, Member, Role, RoomSnapshot } from '../../lib/protocol/rooms';
import type { Logger } from '../logger';
import { coalesce, type Coalescer } from './coalesce';
import { advance, applyOp, initialHistory, type LatentHistory, type OpContext } from './room-state';
import { CHECKPOINT_EVERY, fromStored, toStored, type LoadedRoom, type RoomStore, type StoredOp } from './room-store';

/** Member colours, assigned lowest-free-first (from Sasha Trubetskoy's 20 distinct colours). */
export const MEMBER_COLORS = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4',
  '#f032e6', '#bfef45', '#469990', '#9a6324', '#800000', '#000075',
] as const;

/** Where a room's broadcasts go (the Socket.IO room of its members), injected by the registry. */
export interface RoomOutbox {
  state(state: LatentStateBroadcast): void;
  frame(frame: FrameBroadcast): void;
  bookmark(bookmark: Bookmark): void;
}

/**
 * Decodes one state to an encoded frame (in the engine worker; never on this thread). The class
 * label goes to conditional models; null for the others.
 */
export type RenderFrame = (modelId: string, z: Float32Array, psi: number, classLabel: number | null) => Promise<Omit<FrameBroadcast, 'version'>>;

export interface ModelShape {
  latentDim: number;
  /** Classes of a conditional model; null or absent for unconditional ones. */
  numClasses?: number | null;
  imageShape: [number, number, number];
}

export interface RoomDeps {
  store: RoomStore;
  outbox: RoomOutbox;
  renderFrame: RenderFrame;
  logger: Logger;
}

interface PendingOp {
  version: number;
  memberId: string;
  entry: StoredOp;
  broadcast: LatentStateBroadcast;
  /** The history this op produced. */
  history: LatentHistory;
  resolve(version: number): void;
  reject(err: unknown): void;
}

export class Room {
  readonly id: string;
  readonly modelId: string;
  readonly members = new Map<string, Member>();
  private readonly bookmarks = new Map<string, Bookmark & { vector: Float32Array }>();
  private readonly directions = new Map<string, DirectionInfo & { vector: Float32Array }>();
  /** Applied in memory, maybe not yet persisted. */
  private history: LatentHistory;
  /** Persisted and broadcast. */
  private durable: LatentHistory;
  private pending: PendingOp[] = [];
  private flushing: Promise<void> | undefined;
  private readonly renders: Coalescer<LatentHistory>;
  private lastFrame: FrameBroadcast | undefined;
  private readonly context: OpContext;

  constructor(
    loaded: LoadedRoom,
    readonly model: ModelShape,
    private readonly deps: RoomDeps,
  ) {
    this.id = loaded.id;
    this.modelId = loaded.modelId;
    const [first, ...rest] = loaded.log;
    if (!first || (first.version !== 0 && !first.entry.undo)) throw new Error(`room ${loaded.id}: the op log does not start at a checkpoint`);
    let history: LatentHistory = {
      ...initialHistory(fromStored(first.entry.state), first.version),
      undo: (first.entry.undo ?? []).map(fromStored),
    };
    for (const { version, entry } of rest) {
      if (version !== history.version + 1 || entry.kind === 'create') throw new Error(`room ${loaded.id}: op log gap at ${version}`);
      history = advance(history, entry.kind, fromStored(entry.state));
    }
    this.history = this.durable = history;
    this.epochOf.set(history, this.epoch);
    for (const b of loaded.bookmarks) {
      const vector = Float32Array.from(b.z);
      this.bookmarks.set(b.id, { id: b.id, name: b.name, z: Array.from(vector), createdBy: b.createdBy ?? '', vector });
    }
    for (const d of loaded.directions) {
      const scores = d.meta?.['scores'] as DirectionScores | undefined;
      this.addDirection({
        id: d.id,
        name: d.name,
        method: d.method,
        ...(scores ? { scores } : {}),
        ...(d.createdAt ? { createdAt: d.createdAt.toISOString() } : {}),
        vector: Float32Array.from(d.vector),
      });
    }
    this.context = {
      latentDim: model.latentDim,
      numClasses: model.numClasses ?? null,
      bookmark: (id) => this.bookmarks.get(id)?.vector,
      direction: (id) => this.directions.get(id)?.vector,
    };
    this.renders = coalesce(
      (h) => this.render(h),
      (err) => deps.logger.error(`room ${this.id}: render failed`, err),
    );
    this.renders.request(this.durable);
  }

  /** The version every member has been told about. */
  get version(): number {
    return this.durable.version;
  }

  snapshot(memberId: string, role: Role): RoomSnapshot {
    const { version, current } = this.durable;
    return {
      roomId: this.id,
      modelId: this.modelId,
      latentDim: this.model.latentDim,
      numClasses: this.model.numClasses ?? null,
      imageShape: [...this.model.imageShape],
      directions: [...this.directions.values()].map(({ vector: _v, ...d }) => d),
      version,
      ...toStored(current),
      weights: { ...current.weights },
      bookmarks: [...this.bookmarks.values()].map(({ vector: _v, ...b }) => b),
      members: [...this.members.values()],
      memberId,
      role,
    };
  }

  /**
   * Makes a direction of the model usable by ops at once (SPEC D3): a new one found or imported
   * while the room is live. False, and nothing changes, for a vector of another latent size or
   * an id the room already has.
   */
  addDirection(d: DirectionInfo & { vector: Float32Array }): boolean {
    if (d.vector.length !== this.model.latentDim || this.directions.has(d.id)) return false;
    this.directions.set(d.id, { ...d, vector: Float32Array.from(d.vector) });
    return true;
  }

  /** The room's current z, psi and class as applied (maybe not yet durable): what an op arriving now would start from. */
  get latest(): { z: Float32Array; psi: number; classLabel: number | null } {
    const { z, psi, classLabel } = this.history.current;
    return { z: Float32Array.from(z), psi, classLabel };
  }

  /** The newest frame rendered so far, for a member who just joined. */
  get latestFrame(): FrameBroadcast | undefined {
    return this.lastFrame;
  }

  addMember(memberId: string, name: string, role: Role): Member {
    const used = new Set([...this.members.values()].map((m) => m.color));
    const color = MEMBER_COLORS.find((c) => !used.has(c)) ?? MEMBER_COLORS[this.members.size % MEMBER_COLORS.length]!;
    const member: Member = { memberId, name, color, role };
    this.members.set(memberId, member);
    return member;
  }

  removeMember(memberId: string): boolean {
    return this.members.delete(memberId);
  }

  /**
   * Applies an op now, in arrival order (SPEC O1), and resolves with its version once it is
   * persisted and broadcast. Throws (RequestError) without any change when it cannot apply.
   */
  apply(op: LatentOp, memberId: string): Promise<number> {
    const next = applyOp(this.history, op, this.context);
    this.history = next;
    const state = toStored(next.current);
    const entry: StoredOp = { kind: op.kind, op, state };
    if (next.version % CHECKPOINT_EVERY === 0) entry.undo = next.undo.map(toStored);
    const broadcast: LatentStateBroadcast = { version: next.version, ...state, weights: { ...next.current.weights }, by: memberId, kind: op.kind };
    const acked = new Promise<number>((resolve, reject) => {
      this.pending.push({ version: next.version, memberId, entry, broadcast, history: next, resolve, reject });
      this.flushing ??= this.flush();
    });
    // Decode while the op log write runs; the frame goes out once its version is durable.
    this.epochOf.set(next, this.epoch);
    this.renders.request(next);
    return acked;
  }

  /**
   * Group commit: everything applied since the last flush goes to the op log in one
   * transaction; then each op is broadcast and acked in order. If the write fails, those ops and
   * any applied on top of them are refused (internal) and the state goes back to the last
   * durable one, which is all anyone was told about.
   */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.deps.store.appendOps(
          this.id,
          batch.map((p) => ({ version: p.version, memberId: p.memberId, entry: p.entry })),
        );
      } catch (err) {
        this.deps.logger.error(`room ${this.id}: op log write failed`, err);
        const refused = [...batch, ...this.pending];
        this.pending = [];
        this.history = this.durable;
        this.epoch += 1; // the refused versions will be reused by other states
        this.settleDurabilityWaiters();
        for (const p of refused) p.reject(new Error('op log write failed'));
        break;
      }
      for (const p of batch) {
        this.deps.outbox.state(p.broadcast);
        p.resolve(p.version);
      }
      this.durable = batch[batch.length - 1]!.history;
      this.settleDurabilityWaiters();
    }
    this.flushing = undefined;
  }

  async saveBookmark(name: string, memberId: string): Promise<Bookmark> {
    const z = Array.from(this.durable.current.z);
    const id = await this.deps.store.insertBookmark({ roomId: this.id, modelId: this.modelId, name, z, createdBy: memberId });
    const bookmark = { id, name, z, createdBy: memberId };
    this.bookmarks.set(id, { ...bookmark, vector: Float32Array.from(z) });
    this.deps.outbox.bookmark(bookmark);
    return bookmark;
  }

  private durabilityWaiters: { version: number; resolve(durable: boolean): void }[] = [];
  /** Bumped by every rollback: a state applied before it may share a version with one after. */
  private epoch = 0;
  private readonly epochOf = new WeakMap<LatentHistory, number>();

  /** True once `version` is durable; false if the write failed and that state was rolled back. */
  private whenDurable(version: number): Promise<boolean> {
    if (this.durable.version >= version) return Promise.resolve(true);
    return new Promise((resolve) => this.durabilityWaiters.push({ version, resolve }));
  }

  /** After every write outcome; synchronous with the rollback, before a version can be reused. */
  private settleDurabilityWaiters(): void {
    const waiting: typeof this.durabilityWaiters = [];
    for (const w of this.durabilityWaiters) {
      if (this.durable.version >= w.version) w.resolve(true);
      else if (this.history.version < w.version) w.resolve(false);
      else waiting.push(w);
    }
    this.durabilityWaiters = waiting;
  }

  private async render(history: LatentHistory): Promise<void> {
    if (this.lastFrame && this.lastFrame.version >= history.version) return;
    const { z, psi, classLabel } = history.current;
    const frame = { version: history.version, ...(await this.deps.renderFrame(this.modelId, z, psi, classLabel)) };
    // Members only see frames of versions they have been told about (SPEC O1, F1), and only of
    // the state that version names (not one rolled back while this decode ran).
    if (this.epochOf.get(history) !== this.epoch) return;
    if (!(await this.whenDurable(frame.version))) return;
    if (this.lastFrame && this.lastFrame.version >= frame.version) return;
    this.lastFrame = frame;
    this.deps.outbox.frame(frame);
  }

  private savedSnapshotVersion = -1;

  /**
   * Waits for pending writes and renders, then mirrors the state into rooms.state (before
   * eviction, or a clean shutdown).
   */
  async settle(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.renders.idle();
    const { version, current } = this.durable;
    if (version !== this.savedSnapshotVersion) {
      try {
        await this.deps.store.saveSnapshot(this.id, version, toStored(current));
        this.savedSnapshotVersion = version;
      } catch (err) {
        this.deps.logger.warn(`room ${this.id}: could not save its snapshot (the op log has it)`, err);
      }
    }
  }
}
