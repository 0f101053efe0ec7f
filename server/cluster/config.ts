/**
 * Cluster mode's settings, read from lib/env.ts and checked together: the combinations that
 * cannot work (a cluster on the embedded database, a queue without Redis) fail at start with the
 * variable to change, instead of misbehaving later.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Env } from '../../lib/env';
import { isPostgresUrl } from '../db/open-database';

export interface ClusterConfig {
  redisUrl: string;
  nodeId: string;
  /** Prefix of every Redis key, channel, stream and queue of this deployment. */
  prefix: string;
  leaseMs: number;
  inference: 'local' | 'queue';
  decodeDeadlineMs: number;
  training: 'local' | 'queue';
}

/** A node id nobody else has: host, pid and 4 random bytes (a restarted node is a new node). */
export function defaultNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || 'node';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The cluster settings of this process, or undefined for the single-process default. */
export function clusterConfig(config: Env): ClusterConfig | undefined {
  if (!config.REDIS_URL) {
    if (config.INFERENCE_MODE === 'queue') throw new Error('INFERENCE_MODE=queue needs REDIS_URL (the decode queue lives in Redis)');
    if (config.TRAINING_MODE === 'queue') throw new Error('TRAINING_MODE=queue needs REDIS_URL (the training queue lives in Redis)');
    return undefined;
  }
  if (!isPostgresUrl(config.DATABASE_URL)) {
    throw new Error('REDIS_URL (cluster mode) needs DATABASE_URL=postgres://...: every node reads and writes the same rooms');
  }
  return {
    redisUrl: config.REDIS_URL,
    nodeId: config.CLUSTER_NODE_ID || defaultNodeId(),
    prefix: config.CLUSTER_PREFIX,
    leaseMs: config.ROOM_LEASE_MS,
    inference: config.INFERENCE_MODE,
    decodeDeadlineMs: config.DECODE_DEADLINE_MS,
    training: config.TRAINING_MODE,
  };
}
