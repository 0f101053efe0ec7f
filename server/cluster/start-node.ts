/**
 * Cluster mode, wired: what server/index.ts adds to a realtime node when REDIS_URL is set.
 *
 * - the Socket.IO Redis Streams adapter (broadcasts reach every node's sockets; sessions and
 *   missed packets live in Redis, so connection-state recovery works on any node);
 * - room leases (./leases.ts), node-to-node requests (./node-rpc.ts) and the cluster registry
 *   (./cluster-rooms.ts), with op-log writes fenced by the lease (./fenced-store.ts);
 * - with INFERENCE_MODE=queue, frames decoded by inference workers (./decode-queue.ts).
 */
import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import type { RealtimeCluster } from '../realtime/create-realtime-server';
import type { Logger } from '../logger';
import { createClusterRooms, type ClusterRooms } from './cluster-rooms';
import type { ClusterConfig } from './config';
import { createDecodeQueue } from './decode-queue';
import { fenceRoomStore } from './fenced-store';
import { createRoomLeases, type RoomLeases } from './leases';
import { createNodeRpc, type RpcHandler } from './node-rpc';
import { clusterKeys, connectRedis, waitForRedis } from './redis';
import { createTrainingQueue, type TrainingQueue } from './training-queue';

/** Longest a node waits for another node's schema migration before trying itself. */
const MIGRATION_LOCK_MS = 120_000;

export interface ClusterNode {
  config: ClusterConfig;
  /** The hooks startServer passes to the realtime server. */
  realtime: RealtimeCluster;
  /** Runs `fn` (opening the database: it migrates) while no other node does. */
  exclusiveMigration<T>(fn: () => Promise<T>): Promise<T>;
  leases: RoomLeases;
  /** With TRAINING_MODE=queue: runs training jobs on training workers. */
  training: TrainingQueue | undefined;
  /** Set once the realtime server is attached. */
  rooms(): ClusterRooms | undefined;
  close(): Promise<void>;
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

async function withRedisLock<T>(redis: Redis, key: string, ttlMs: number, fn: () => Promise<T>): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + ttlMs;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`${key} is still held after ${ttlMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}

export async function startClusterNode(config: ClusterConfig, logger: Logger): Promise<ClusterNode> {
  const keys = clusterKeys(config.prefix);
  const name = (role: string) => `${config.nodeId}:${role}`;
  const redis = connectRedis(config.redisUrl, name('cmd'), logger);
  await waitForRedis(redis);
  const sub = connectRedis(config.redisUrl, name('rpc'), logger);
  const adapterClient = connectRedis(config.redisUrl, name('adapter'), logger);

  let clusterRooms: ClusterRooms | undefined;
  const handlers: Record<string, RpcHandler> = {};
  const rpc = createNodeRpc({ pub: redis, sub, prefix: config.prefix, nodeId: config.nodeId, handlers, logger });
  // Subscribed before this node can take any lease: a node that holds a room always answers.
  await rpc.start();
  const leases = createRoomLeases({
    redis,
    prefix: config.prefix,
    nodeId: config.nodeId,
    ttlMs: config.leaseMs,
    logger,
    onLost: (roomId) => clusterRooms?.lost(roomId),
  });
  const decode =
    config.inference === 'queue'
      ? await createDecodeQueue({ redisUrl: config.redisUrl, prefix: config.prefix, nodeId: config.nodeId, deadlineMs: config.decodeDeadlineMs, logger })
      : undefined;

  const training =
    config.training === 'queue' ? await createTrainingQueue({ redisUrl: config.redisUrl, prefix: config.prefix, nodeId: config.nodeId, logger }) : undefined;

  const realtime: RealtimeCluster = {
    adapter: createAdapter(adapterClient, {
      streamName: keys.stream,
      channelPrefix: config.prefix,
      sessionKeyPrefix: keys.sessionPrefix,
    }),
    ...(decode ? { renderFrame: decode.renderFrame } : {}),
    wrapStore: (store) => fenceRoomStore(store, leases, (roomId) => clusterRooms?.lost(roomId)),
    attach: (io, local, deliver) => {
      clusterRooms = createClusterRooms({
        io,
        local,
        leases,
        rpc,
        nodeId: config.nodeId,
        logger,
        deliverFrame: deliver.frame,
        deliverPointer: deliver.pointer,
      });
      Object.assign(handlers, clusterRooms.handlers);
      return clusterRooms;
    },
  };

  return {
    config,
    realtime,
    leases,
    training,
    exclusiveMigration: (fn) => withRedisLock(redis, keys.migrationLock, MIGRATION_LOCK_MS, fn),
    rooms: () => clusterRooms,
    async close() {
      await leases.close();
      await rpc.close();
      await decode?.close();
      await training?.close();
      sub.disconnect();
      adapterClient.disconnect();
      await redis.quit().catch(() => undefined);
    },
  };
}
