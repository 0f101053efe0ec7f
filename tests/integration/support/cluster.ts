/**
 * A cluster on loopback for the cluster tests and bench:cluster: realtime nodes and inference
 * workers as real child processes (`server/index.ts` in cluster mode, `server/cluster/
 * inference-worker.ts`) on one scratch PostgreSQL database and one Redis, under a key prefix of
 * their own, plus a failover TCP proxy per node that stands in for the sticky load balancer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { env } from '../../../lib/env';
import { openDatabase } from '../../../server/db/open-database';
import { createScratchDatabase, probePostgres } from './postgres';
import { makeTempDir } from './temp-dir';

const READY_TIMEOUT_MS = 60_000;

export type ServicesProbe = { ok: true } | { ok: false; reason: string };

/** Whether Redis and PostgreSQL both answer; which one does not, and why, otherwise. */
export async function probeClusterServices(): Promise<ServicesProbe> {
  const pgProbe = await probePostgres();
  if (!pgProbe.ok) return { ok: false, reason: `PostgreSQL at ${env().TEST_DATABASE_URL} is unreachable (${pgProbe.reason})` };
  const redis = new Redis(env().TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  // The socket's own error (e.g. ECONNREFUSED) says more than the rejection's "Connection is closed".
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
    return { ok: true };
  } catch (err) {
    const why = cause?.message || (err instanceof Error ? err.message : String(err));
    return { ok: false, reason: `Redis at ${env().TEST_REDIS_URL} is unreachable (${why})` };
  } finally {
    redis.disconnect();
  }
}

export interface ClusterProcess {
  name: string;
  proc: ChildProcess;
  /** Everything it printed (stdout and stderr). */
  output: string[];
  exited: Promise<void>;
  /** SIGKILL: no shutdown, as in a crash or a power cut. */
  kill9(): Promise<void>;
}

export interface ClusterNodeProcess extends ClusterProcess {
  url: string;
  nodeId: string;
}

function startProcess(
  name: string,
  script: string,
  extraEnv: Record<string, string>,
  ready: RegExp,
  nodeArgs: string[] = [],
): Promise<{ p: ClusterProcess; match: RegExpMatchArray }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const p: ClusterProcess = {
    name,
    proc,
    output,
    exited,
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms:\n${output.join('')}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = output.join('').match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ p, match });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output.join('')}`));
    });
  });
}

/**
 * A TCP proxy on loopback port 0 that sends each new connection to the first backend that
 * accepts it, in order: the load balancer of one group of clients. Connections stay on their
 * backend (sticky); when it dies they close, and the clients' reconnects land on the next one.
 */
export async function startFailoverProxy(backends: () => string[]): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const candidates = backends().map((u) => new URL(u));
    const tryNext = () => {
      const target = candidates.shift();
      if (!target) {
        client.destroy();
        return;
      }
      const upstream = net.connect(Number(target.port), target.hostname);
      upstream.once('connect', () => {
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        upstream.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        if (!upstream.readyState || upstream.connecting) tryNext();
      });
    };
    tryNext();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Cluster {
  prefix: string;
  databaseUrl: string;
  redisUrl: string;
  nodes: ClusterNodeProcess[];
  workers: (ClusterProcess & { workerId: string })[];
  startNode(name: string): Promise<ClusterNodeProcess>;
  startWorker(name: string): Promise<ClusterProcess & { workerId: string }>;
  stop(): Promise<void>;
}

export async function startCluster(opts: {
  nodes: number;
  workers: number;
  inference?: 'queue' | 'local';
  /** false: no Redis, the single-process default (one node only); bench:cluster's baseline. */
  redis?: boolean;
  /** Node.js options for every process (e.g. --cpu-prof to profile them). */
  nodeArgs?: string[];
  extraEnv?: Record<string, string>;
}): Promise<Cluster> {
  if (opts.redis === false && (opts.nodes > 1 || opts.workers > 0)) throw new Error('without Redis there is one node and no worker');
  const prefix = `lr-test-${randomBytes(4).toString('hex')}`;
  const scratch = await createScratchDatabase();
  const tmp = makeTempDir('cluster');
  // Migrate once here: the nodes then start in parallel without waiting for each other's lock.
  await (await openDatabase(scratch.url)).close();
  const common: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    SERVE_APP: '0',
    LOG_LEVEL: 'warn',
    DATA_DIR: tmp.dir,
    DATABASE_URL: scratch.url,
    REDIS_URL: opts.redis === false ? '' : env().TEST_REDIS_URL,
    CLUSTER_PREFIX: prefix,
    INFERENCE_MODE: opts.redis === false ? 'local' : (opts.inference ?? 'queue'),
    TF_BACKEND: env().TF_BACKEND ?? 'wasm',
    ...opts.extraEnv,
  };
  const cluster: Cluster = {
    prefix,
    databaseUrl: scratch.url,
    redisUrl: env().TEST_REDIS_URL,
    nodes: [],
    workers: [],
    async startNode(name) {
      const { p, match } = await startProcess(name, 'server/index.ts', { ...common, CLUSTER_NODE_ID: name }, /Latentroom ready at (http:\/\/\S+)/, opts.nodeArgs);
      const node = Object.assign(p, { url: match[1]!, nodeId: name });
      cluster.nodes.push(node);
      return node;
    },
    async startWorker(name) {
      const { p } = await startProcess(name, 'server/cluster/inference-worker.ts', { ...common, CLUSTER_NODE_ID: name }, /Inference worker \S+ ready/, opts.nodeArgs);
      const worker = Object.assign(p, { workerId: name });
      cluster.workers.push(worker);
      return worker;
    },
    async stop() {
      await Promise.all([...cluster.nodes, ...cluster.workers].map((p) => p.kill9()));
      const redis = new Redis(env().TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        // Everything this cluster left in Redis is under its prefix.
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
      await scratch.drop();
      tmp.remove();
    },
  };
  try {
    await Promise.all([
      ...Array.from({ length: opts.nodes }, (_, i) => cluster.startNode(`node-${i + 1}`)),
      ...Array.from({ length: opts.workers }, (_, i) => cluster.startWorker(`worker-${i + 1}`)),
    ]);
    // In name order, whichever was ready first.
    cluster.nodes.sort((a, b) => a.name.localeCompare(b.name));
    cluster.workers.sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}
