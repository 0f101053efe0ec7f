/**
 * The embedded database on its own thread: starts ./pglite-worker.mjs (PGlite in a worker thread)
 * and returns a client with the part of PGlite's API that drizzle's PGlite driver and migrator
 * use (`query`, `transaction`, `close`, `closed`), each call a message to that thread. The SQL
 * runs there; this thread only builds queries and clones parameters and rows.
 *
 * Semantics are PGlite's: one connection, statements in the order they arrive, a transaction
 * holds the database until it ends (other statements wait for it, in the worker). A transaction
 * callback runs here; its statements go to the worker's open transaction, then COMMIT, or
 * ROLLBACK if the callback throws. Database errors keep their PostgreSQL fields (`code`,
 * `constraint`, `detail`, ...). If the thread dies, every pending and later call rejects.
 */
import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./pglite-worker.mjs', import.meta.url);

interface QueryOptions {
  rowMode?: 'array' | 'object';
  /** drizzle's parsers: identity functions for the type ids whose text it keeps; see the worker. */
  parsers?: Record<number, unknown>;
}

export interface QueryResults {
  rows: unknown[];
  fields: { name: string; dataTypeID: number }[];
  affectedRows?: number;
}

export interface ProxyTransaction {
  query(sql: string, params?: unknown[], options?: QueryOptions): Promise<QueryResults>;
}

export interface PgliteProxy extends ProxyTransaction {
  readonly closed: boolean;
  transaction<T>(fn: (tx: ProxyTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface WorkerError {
  message: string;
  [field: string]: string;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WorkerError };

function toError(e: WorkerError): Error {
  return Object.assign(new Error(e.message), e);
}

/** Opens (creating if missing) the PGlite database in `dataDir` on its own thread. */
export async function openPgliteProxy(dataDir: string): Promise<PgliteProxy> {
  const worker = new Worker(ENTRY, { workerData: { dataDir }, execArgv: [] });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let dead: Error | undefined;
  let closed = false;

  const die = (err: Error) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };

  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready: boolean; error?: WorkerError }) => (m.ready ? resolve() : reject(toError(m.error!))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the database thread exited (${code}) while opening ${dataDir}`)));
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  worker.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(toError(m.error));
  });
  worker.on('error', (err) => die(err instanceof Error ? err : new Error(String(err))));
  worker.on('exit', (code) => die(new Error(closed ? 'the database is closed' : `the database thread exited (${code})`)));

  function call<T>(msg: Record<string, unknown>): Promise<T> {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...msg, id });
    });
  }

  const query = (tx: number | undefined) => (sql: string, params: unknown[] = [], options: QueryOptions = {}) =>
    call<QueryResults>({
      op: 'query',
      sql,
      params,
      rowMode: options.rowMode ?? 'object',
      rawOids: Object.keys(options.parsers ?? {}).map(Number),
      tx,
    });

  return {
    get closed() {
      return closed;
    },
    query: query(undefined),
    async transaction<T>(fn: (tx: ProxyTransaction) => Promise<T>): Promise<T> {
      const tx = await call<number>({ op: 'begin' });
      let result: T;
      try {
        result = await fn({ query: query(tx) });
      } catch (err) {
        await call({ op: 'end', tx, commit: false }).catch(() => undefined);
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!dead) await call({ op: 'close' }).catch(() => undefined);
      await worker.terminate();
    },
  };
}
