/**
 * Room leases in Redis: a room's op order has one owner, the node holding `lease:<roomId>`.
 *
 * - acquire: `SET key token NX PX ttl`, the token being `<nodeId>|<epoch>` with an epoch from
 *   INCR, so each tenure of a room is distinct even on the same node.
 * - renew: every ttl/3, one compare-and-PEXPIRE script for all held leases (one round trip, so a
 *   busy node with many rooms still renews in time); a lease found gone or
 *   taken (expired during a long pause, or broken by another node that found this one dead) is
 *   reported through `onLost`, and the node stops acting as owner.
 * - release: compare-and-DEL when the room is evicted (last member left) or the node stops, so
 *   the next request for it loads it at once anywhere.
 * - break: compare-and-DEL of another node's token, used when that node is provably gone (its RPC
 *   channel has no subscriber: Redis drops a killed process's subscription as soon as its socket
 *   closes), so a dead node's rooms move in milliseconds rather than after the ttl.
 *
 * A lease alone does not fence a node that lost it without knowing yet: writes are fenced in
 * ./fenced-store.ts (lease check before each op-log write, and the op log's primary key on
 * (room, version) makes a second writer of one version fail).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { clusterKeys } from './redis';

/** Renews every lease of KEYS whose value is still this node's token (ARGV[i]); ttl is the last ARGV. */
const RENEW_ALL = `
local ttl = ARGV[#KEYS + 1]
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[i] then out[i] = redis.call('pexpire', key, ttl) else out[i] = 0 end
end
return out`;
/** Leases renewed per script call (one round trip each, however many rooms a node holds). */
const RENEW_CHUNK = 500;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface LeaseOwner {
  nodeId: string;
  token: string;
}

export interface RoomLeases {
  /** True if this node now holds the room's lease (false: someone else does). */
  acquire(roomId: string): Promise<boolean>;
  /** Who holds the lease, if anyone. */
  owner(roomId: string): Promise<LeaseOwner | undefined>;
  /** This node believes it holds the lease (local bookkeeping; no round trip). */
  holds(roomId: string): boolean;
  /** This node holds the lease in Redis right now (one round trip: the write fence). */
  check(roomId: string): Promise<boolean>;
  release(roomId: string): Promise<void>;
  /** Deletes the lease if it is still `owner`'s: that node is gone. True if deleted. */
  breakLease(roomId: string, owner: LeaseOwner): Promise<boolean>;
  /** Forgets a lease locally (the room was dropped) without touching Redis. */
  forget(roomId: string): void;
  held(): string[];
  close(): Promise<void>;
}

export function createRoomLeases(opts: {
  redis: Redis;
  prefix: string;
  nodeId: string;
  ttlMs: number;
  logger: Logger;
  onLost(roomId: string): void;
}): RoomLeases {
  const keys = clusterKeys(opts.prefix);
  const tokens = new Map<string, string>();

  async function renewAll(): Promise<void> {
    const held = [...tokens];
    for (let i = 0; i < held.length; i += RENEW_CHUNK) {
      const chunk = held.slice(i, i + RENEW_CHUNK);
      let renewed: number[];
      try {
        renewed = (await opts.redis.eval(
          RENEW_ALL,
          chunk.length,
          ...chunk.map(([roomId]) => keys.lease(roomId)),
          ...chunk.map(([, token]) => token),
          String(opts.ttlMs),
        )) as number[];
      } catch (err) {
        // Redis unreachable: keep trying; if it stays away the leases expire and the next
        // successful renewal reports them lost.
        opts.logger.warn('lease renewal failed', err instanceof Error ? err.message : err);
        continue;
      }
      chunk.forEach(([roomId, token], j) => {
        if (Number(renewed[j]) !== 0 || tokens.get(roomId) !== token) return;
        tokens.delete(roomId);
        opts.logger.warn(`lost the lease of room ${roomId}`);
        opts.onLost(roomId);
      });
    }
  }
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    void renewAll().finally(() => (renewing = false));
  }, Math.max(100, Math.floor(opts.ttlMs / 3)));
  timer.unref();

  return {
    async acquire(roomId) {
      const epoch = await opts.redis.incr(keys.leaseEpoch(roomId));
      const token = `${opts.nodeId}|${epoch}`;
      const ok = await opts.redis.set(keys.lease(roomId), token, 'PX', opts.ttlMs, 'NX');
      if (ok !== 'OK') return false;
      tokens.set(roomId, token);
      return true;
    },
    async owner(roomId) {
      const token = await opts.redis.get(keys.lease(roomId));
      if (!token) return undefined;
      return { nodeId: token.slice(0, token.lastIndexOf('|')), token };
    },
    holds: (roomId) => tokens.has(roomId),
    async check(roomId) {
      const mine = tokens.get(roomId);
      return mine !== undefined && (await opts.redis.get(keys.lease(roomId))) === mine;
    },
    async release(roomId) {
      const token = tokens.get(roomId);
      if (token === undefined) return;
      tokens.delete(roomId);
      await opts.redis.eval(RELEASE, 1, keys.lease(roomId), token);
    },
    async breakLease(roomId, owner) {
      return Number(await opts.redis.eval(RELEASE, 1, keys.lease(roomId), owner.token)) === 1;
    },
    forget: (roomId) => void tokens.delete(roomId),
    held: () => [...tokens.keys()],
    async close() {
      clearInterval(timer);
      await Promise.all([...tokens.keys()].map((id) => this.release(id).catch(() => undefined)));
    },
  };
}
