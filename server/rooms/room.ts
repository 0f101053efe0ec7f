/**
 * One live room: its members, its authoritative latent history, its bookmarks, and the two
 * outbound paths: acked state (applied in arrival order, persisted in group commits before the
 * ack and the `latent:state` broadcast, SPEC O1/R2) and newest-only frames (SPEC F1).
 *
 * Only the registry (./registry.ts) constructs rooms.
 */
import type { DirectionScores } from '../../lib/protocol/directions';
import type {
  Bookmark,
  DirectionInfo,
  FrameBroadcast,
  HistoryEntry,
  LatentOp,
  LatentStateBroadcast,
  Member,
  Role,
  RoomSnapshot,
} from '../../lib/protocol/rooms';
import type { Logger } from '../logger';
import { RequestError } from '../realtime/ack';
import { coalesce, type Coalescer } from './coalesce';
import { advance, applyOp, initialHistory, type LatentHistory, type LatentSnapshot, type OpContext } from './room-state';
import { CHECKPOINT_EVERY, fromStored, toStored, type LoadedRoom, type RoomStore, type StoredOp } from './room-store';

/**
 * States of the latest versions kept in memory (revert, branch and history read older ones from
 * the op log). 512 states of 64 floats are ~130 KB per room.
 */
export const RECENT_STATES = 512;

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
  /** SHA-256 of the model's weights, recorded in bookmarks (SPEC B2); null or absent when it has none. */
  weightsHash?: string | null;
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
  memberName: string | null;
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
  /** Recent states by version (applied ones too, until a failed write rolls them back). */
  private readonly recent = new Map<number, LatentSnapshot>();
  /** The last past state read from the op log for a revert. */
  private fetched: { version: number; state: LatentSnapshot } | undefined;
  /** Set while an op waits for an op log read (revert): later ops queue behind it (SPEC O1). */
  private applyChain: Promise<void> | undefined;
  /** Bookmark saves in flight by idempotency key (SPEC B3). */
  private readonly savingByRequest = new Map<string, Promise<Bookmark>>();

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
      redo: (first.entry.redo ?? []).map(fromStored),
    };
    this.remember(history);
    for (const { version, entry } of rest) {
      if (version !== history.version + 1 || entry.kind === 'create') throw new Error(`room ${loaded.id}: op log gap at ${version}`);
      history = advance(history, entry.kind, fromStored(entry.state));
      this.remember(history);
    }
    this.history = this.durable = history;
    this.epochOf.set(history, this.epoch);
    for (const b of loaded.bookmarks) this.bookmarks.set(b.id, { ...b, vector: Float32Array.from(b.z) });
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
      stateAt: (version) => this.recent.get(version) ?? (this.fetched?.version === version ? this.fetched.state : undefined),
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
   * Applies an op in arrival order (SPEC O1), and resolves with its version once it is persisted
   * and broadcast. Throws (RequestError) without any change when it cannot apply. Most ops apply
   * at once; a `revert` to a version older than the recent states first reads that state from
   * the op log, and the ops that arrive meanwhile wait behind it, so the order holds.
   */
  apply(op: LatentOp, memberId: string): Promise<number> {
    if (!this.applyChain && (op.kind !== 'revert' || !this.needsFetch(op.version))) return this.applyNow(op, memberId);
    let acked!: Promise<number>;
    const step = (this.applyChain ?? Promise.resolve()).then(async () => {
      if (op.kind === 'revert' && this.needsFetch(op.version)) await this.fetchState(op.version);
      acked = this.applyNow(op, memberId);
    });
    const chain = step.catch(() => undefined);
    this.applyChain = chain;
    void chain.then(() => {
      if (this.applyChain === chain) this.applyChain = undefined;
    });
    return step.then(() => acked);
  }

  private needsFetch(version: number): boolean {
    return version <= this.history.version && !this.recent.has(version) && this.fetched?.version !== version;
  }

  private async fetchState(version: number): Promise<void> {
    const stored = await this.deps.store.stateAt(this.id, version);
    if (stored) this.fetched = { version, state: fromStored(stored) };
  }

  /** Keeps the state of `history`'s version among the recent ones. */
  private remember(history: LatentHistory): void {
    this.recent.delete(history.version);
    this.recent.set(history.version, history.current);
    if (this.recent.size > RECENT_STATES) this.recent.delete(this.recent.keys().next().value!);
  }

  private applyNow(op: LatentOp, memberId: string): Promise<number> {
    const next = applyOp(this.history, op, this.context);
    this.history = next;
    this.remember(next);
    const state = toStored(next.current);
    const entry: StoredOp = { kind: op.kind, op, state };
    if (next.version % CHECKPOINT_EVERY === 0) {
      entry.undo = next.undo.map(toStored);
      entry.redo = next.redo.map(toStored);
    }
    const broadcast: LatentStateBroadcast = { version: next.version, ...state, weights: { ...next.current.weights }, by: memberId, kind: op.kind };
    const memberName = this.members.get(memberId)?.name ?? null;
    const acked = new Promise<number>((resolve, reject) => {
      this.pending.push({ version: next.version, memberId, memberName, entry, broadcast, history: next, resolve, reject });
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
          batch.map((p) => ({ version: p.version, memberId: p.memberId, memberName: p.memberName, entry: p.entry })),
        );
      } catch (err) {
        this.deps.logger.error(`room ${this.id}: op log write failed`, err);
        const refused = [...batch, ...this.pending];
        this.pending = [];
        this.history = this.durable;
        for (const v of [...this.recent.keys()]) if (v > this.durable.version) this.recent.delete(v);
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

  /**
   * Saves the state every member has been told about (the durable version) as a bookmark with
   * its provenance (SPEC B1, B2), and broadcasts it. With a `requestId` it is idempotent (B3): a
   * retry, concurrent or after a reconnect or a restart, answers the same bookmark, creates
   * nothing and broadcasts nothing.
   */
  saveBookmark(req: { name: string; tags?: string[]; requestId?: string | undefined }, memberId: string): Promise<Bookmark> {
    const key = req.requestId;
    if (key === undefined) return this.insertBookmark(req, memberId);
    const inFlight = this.savingByRequest.get(key);
    if (inFlight) return inFlight;
    const saving = this.insertBookmark(req, memberId).finally(() => this.savingByRequest.delete(key));
    this.savingByRequest.set(key, saving);
    return saving;
  }

  private async insertBookmark(req: { name: string; tags?: string[]; requestId?: string | undefined }, memberId: string): Promise<Bookmark> {
    const { version, current } = this.durable;
    const { bookmark, created } = await this.deps.store.insertBookmark({
      roomId: this.id,
      modelId: this.modelId,
      name: req.name,
      tags: req.tags ?? [],
      z: Array.from(current.z),
      classLabel: current.classLabel,
      psi: current.psi,
      weightsHash: this.model.weightsHash ?? null,
      version,
      createdBy: this.members.get(memberId)?.name ?? memberId,
      ...(req.requestId === undefined ? {} : { requestId: req.requestId }),
    });
    if (!this.bookmarks.has(bookmark.id)) this.bookmarks.set(bookmark.id, { ...bookmark, vector: Float32Array.from(bookmark.z) });
    if (created) this.deps.outbox.bookmark(bookmark);
    return bookmark;
  }

  /**
   * The room's state at `version` (SPEC O15): any version every member has been told about,
   * from memory or the op log.
   */
  async stateAt(version: number): Promise<LatentSnapshot> {
    if (version > this.durable.version) throw new RequestError('bad-request', `no version ${version}: the room is at version ${this.durable.version}`);
    const recent = this.recent.get(version);
    if (recent) return recent;
    const stored = await this.deps.store.stateAt(this.id, version);
    if (!stored) throw new RequestError('not-found', `version ${version} is not in the op log`);
    return fromStored(stored);
  }

  /** Log entries with their states, newest first (SPEC O14); only versions members were told about. */
  async readHistory(opts: { before?: number | undefined; limit: number }): Promise<HistoryEntry[]> {
    const before = Math.min(opts.before ?? Infinity, this.durable.version + 1);
    return this.deps.store.history(this.id, { before, limit: opts.limit });
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
    // Ops waiting behind a revert's log read are applied (and written) before the room settles.
    while (this.applyChain || this.flushing) {
      await this.applyChain;
      await this.flushing;
    }
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
