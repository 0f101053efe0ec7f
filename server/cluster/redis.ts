/**
 * Redis connections of a node or worker (ioredis: what BullMQ uses, and the Socket.IO Redis
 * Streams adapter accepts it too). `maxRetriesPerRequest: null` is what BullMQ requires of its
 * blocking connections; for the others it means a command waits for a reconnect instead of
 * failing after 20 tries, and the callers' own deadlines decide when to give up.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger';

export function connectRedis(url: string, name: string, logger: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
  let reported = false;
  redis.on('error', (err: Error) => {
    // ioredis retries by itself; one line per outage, not one per retry.
    if (!reported) logger.warn(`redis (${name}): ${err.message}`);
    reported = true;
  });
  redis.on('ready', () => (reported = false));
  return redis;
}

/** Resolves once the connection answers PING; rejects after `timeoutMs` with the reason. */
export async function waitForRedis(redis: Redis, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keys and channels of one deployment, all under its prefix. */
export function clusterKeys(prefix: string) {
  return {
    lease: (roomId: string) => `${prefix}:lease:${roomId}`,
    leaseEpoch: (roomId: string) => `${prefix}:lease-epoch:${roomId}`,
    rpc: (nodeId: string) => `${prefix}:rpc:${nodeId}`,
    migrationLock: `${prefix}:migration-lock`,
    /** Socket.IO Redis Streams adapter. */
    stream: `${prefix}:socket.io`,
    sessionPrefix: `${prefix}:session:`,
    /** BullMQ queues live under `${prefix}:bull:<queue>:...`. */
    bullPrefix: `${prefix}:bull`,
  };
}

/**
 * The id of the newest entry in a BullMQ queue's events stream ('0-0' when empty). A QueueEvents
 * started from it hears every event after this call; started from '$' (its default) it would
 * miss those that come before its first read, such as a fast first job's `completed`.
 */
export async function lastQueueEventId(redis: Redis, bullPrefix: string, queue: string): Promise<string> {
  const [last] = await redis.xrevrange(`${bullPrefix}:${queue}:events`, '+', '-', 'COUNT', 1);
  return last?.[0] ?? '0-0';
}
