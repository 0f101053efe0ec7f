/**
 * Request and reply between two named nodes over Redis pub/sub: each node subscribes to its own
 * channel `rpc:<nodeId>`, where requests to it and replies to its requests arrive.
 *
 * Why not Socket.IO's `serverSideEmit` with an ack: it goes to every node and its callback waits
 * for an answer from each of them (the Redis Streams adapter expects NUMSUB − 1 responses), so a
 * forwarded op would cost work on every node and the slowest node's latency. Forwarding needs
 * one named node. PUBLISH answers how many subscribers received the message: 0 means the target
 * node is gone (Redis drops a dead process's subscription when its socket closes), which lets
 * the caller fail over at once instead of waiting for a timeout.
 *
 * Messages are JSON; callers encode binary (frames) themselves.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { clusterKeys } from './redis';

/**
 * The target node has no subscriber: it is not running. `delivered`: it was running when the
 * request was sent and died before answering, so it may or may not have acted on it.
 */
export class NodeGoneError extends Error {
  constructor(
    readonly nodeId: string,
    readonly delivered = false,
  ) {
    super(delivered ? `node ${nodeId} died before answering` : `node ${nodeId} is not running`);
  }
}

/**
 * A request unanswered for this long has its target's channel checked (PUBSUB NUMSUB) every
 * period: a node that died holding requests fails them now, not at their timeout.
 */
const LIVENESS_CHECK_MS = 250;

/** The target node did not answer in time (it may still have acted on the request). */
export class RpcTimeoutError extends Error {}

/** A failure the handler meant for the caller (e.g. a RequestError's code), carried as data. */
export interface RpcFailure {
  code: string;
  message?: string;
}

type Wire =
  | { kind: 'req'; id: number; from: string; method: string; payload: unknown }
  | { kind: 'res'; id: number; ok: true; result: unknown }
  | { kind: 'res'; id: number; ok: false; failure: RpcFailure };

export type RpcHandler = (payload: unknown, from: string) => Promise<unknown>;

export interface NodeRpc {
  /** Subscribes; resolves once requests to this node can arrive. */
  start(): Promise<void>;
  call(nodeId: string, method: string, payload: unknown, timeoutMs: number): Promise<unknown>;
  close(): Promise<void>;
}

/** Thrown by a handler to send `failure` back as data instead of an internal error. */
export class RpcFailed extends Error {
  constructor(readonly failure: RpcFailure) {
    super(failure.message ?? failure.code);
  }
}

export function createNodeRpc(opts: {
  /** Publishes requests and replies. */
  pub: Redis;
  /** A connection of its own: a subscribed ioredis connection takes no other commands. */
  sub: Redis;
  prefix: string;
  nodeId: string;
  handlers: Record<string, RpcHandler>;
  logger: Logger;
}): NodeRpc {
  const keys = clusterKeys(opts.prefix);
  const own = keys.rpc(opts.nodeId);
  let seq = 0;
  const waiting = new Map<number, { nodeId: string; sentAt: number; resolve(v: unknown): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();

  async function checkLiveness(): Promise<void> {
    const now = performance.now();
    const targets = new Set([...waiting.values()].filter((w) => now - w.sentAt >= LIVENESS_CHECK_MS).map((w) => w.nodeId));
    for (const nodeId of targets) {
      const [, subscribers] = (await opts.pub.pubsub('NUMSUB', keys.rpc(nodeId))) as [string, number];
      if (Number(subscribers) > 0) continue;
      for (const [id, w] of waiting) {
        if (w.nodeId !== nodeId) continue;
        waiting.delete(id);
        clearTimeout(w.timer);
        w.reject(new NodeGoneError(nodeId, true));
      }
    }
  }
  let checking = false;
  const liveness = setInterval(() => {
    if (checking || waiting.size === 0) return;
    checking = true;
    void checkLiveness()
      .catch((err: unknown) => opts.logger.warn('rpc liveness check failed', err instanceof Error ? err.message : err))
      .finally(() => (checking = false));
  }, LIVENESS_CHECK_MS);
  liveness.unref();

  async function serve(req: Extract<Wire, { kind: 'req' }>): Promise<void> {
    let reply: Wire;
    const handler = Object.hasOwn(opts.handlers, req.method) ? opts.handlers[req.method] : undefined;
    try {
      if (!handler) throw new RpcFailed({ code: 'internal', message: `no rpc method ${req.method}` });
      reply = { kind: 'res', id: req.id, ok: true, result: await handler(req.payload, req.from) };
    } catch (err) {
      if (err instanceof RpcFailed) reply = { kind: 'res', id: req.id, ok: false, failure: err.failure };
      else {
        opts.logger.error(`rpc ${req.method} from ${req.from} failed`, err);
        reply = { kind: 'res', id: req.id, ok: false, failure: { code: 'internal' } };
      }
    }
    await opts.pub.publish(keys.rpc(req.from), JSON.stringify(reply));
  }

  opts.sub.on('message', (channel: string, text: string) => {
    if (channel !== own) return;
    let msg: Wire;
    try {
      msg = JSON.parse(text) as Wire;
    } catch {
      opts.logger.warn('rpc: unreadable message dropped');
      return;
    }
    if (msg.kind === 'req') {
      void serve(msg).catch((err: unknown) => opts.logger.error('rpc reply failed', err));
      return;
    }
    const w = waiting.get(msg.id);
    if (!w) return; // timed out already
    waiting.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new RpcFailed(msg.failure));
  });

  return {
    async start() {
      await opts.sub.subscribe(own);
    },
    async call(nodeId, method, payload, timeoutMs) {
      const id = ++seq;
      const answer = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new RpcTimeoutError(`node ${nodeId} did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { nodeId, sentAt: performance.now(), resolve, reject, timer });
      });
      // The answer can arrive (on the subscriber connection) before PUBLISH returns: handled
      // from the start, so an early refusal is not an unhandled rejection.
      answer.catch(() => undefined);
      const receivers = await opts.pub.publish(keys.rpc(nodeId), JSON.stringify({ kind: 'req', id, from: opts.nodeId, method, payload } satisfies Wire));
      if (receivers === 0) {
        const w = waiting.get(id);
        if (w) clearTimeout(w.timer);
        waiting.delete(id);
        throw new NodeGoneError(nodeId);
      }
      return answer;
    },
    async close() {
      clearInterval(liveness);
      for (const [, w] of waiting) {
        clearTimeout(w.timer);
        w.reject(new Error('rpc closed'));
      }
      waiting.clear();
      await opts.sub.unsubscribe(own).catch(() => undefined);
    },
  };
}
