// The embedded database's own thread: PGlite (PostgreSQL compiled to WASM) runs here, so that its
// query execution and file I/O never hold the realtime event loop (measured on the realtime
// bench before this moved: PGlite's WASM and JS were about half of the realtime thread's busy
// time). The main thread talks to it through ./pglite-proxy.ts, which drizzle's
// PGlite driver uses as if it were the PGlite client. Plain JavaScript (no tsx in this thread):
// it only relays messages.
//
// Messages in: { id, op: 'query', sql, params, rowMode, rawOids, tx? } | { id, op: 'begin' }
//   | { id, op: 'end', tx, commit } | { id, op: 'close' }
// Messages out: { id, ok: true, result } | { id, ok: false, error: { message, ...fields } }
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const identity = (value) => value;
/** Database error fields worth keeping across the thread boundary (DatabaseError's). */
const ERROR_FIELDS = ['name', 'code', 'detail', 'hint', 'severity', 'schema', 'table', 'column', 'constraint', 'position'];

function serializeError(err) {
  const out = { message: err instanceof Error ? err.message : String(err) };
  if (err && typeof err === 'object') for (const f of ERROR_FIELDS) if (typeof err[f] === 'string') out[f] = err[f];
  return out;
}

/** drizzle passes identity parsers (keep timestamps, dates and intervals as text) for these type ids. */
function queryOptions(msg) {
  const parsers = {};
  for (const oid of msg.rawOids ?? []) parsers[oid] = identity;
  return { rowMode: msg.rowMode === 'array' ? 'array' : 'object', parsers };
}

/** A transaction's PGlite handle, and how to end it, by the id of its `begin` message. */
const transactions = new Map();
let db;

function reply(id, result) {
  parentPort.postMessage({ id, ok: true, result });
}
function fail(id, err) {
  parentPort.postMessage({ id, ok: false, error: serializeError(err) });
}

const ROLLBACK = new Error('rollback requested');

function begin(id) {
  const entry = { tx: undefined, endId: undefined, finish: undefined };
  db.transaction(
    (tx) =>
      new Promise((resolve, reject) => {
        entry.tx = tx;
        entry.finish = (commit) => (commit ? resolve() : reject(ROLLBACK));
        transactions.set(id, entry);
        reply(id, id);
      }),
  ).then(
    () => {
      transactions.delete(id);
      reply(entry.endId, null);
    },
    (err) => {
      transactions.delete(id);
      if (entry.endId === undefined) fail(id, err); // BEGIN itself failed
      else if (err === ROLLBACK) reply(entry.endId, null);
      else fail(entry.endId, err); // COMMIT failed
    },
  );
}

async function handle(msg) {
  switch (msg.op) {
    case 'query': {
      const target = msg.tx === undefined ? db : transactions.get(msg.tx)?.tx;
      if (!target) throw new Error(`no open transaction ${msg.tx}`);
      return target.query(msg.sql, msg.params ?? [], queryOptions(msg));
    }
    case 'begin':
      begin(msg.id);
      return undefined; // answered when the transaction holds the database
    case 'end': {
      const entry = transactions.get(msg.tx);
      if (!entry) throw new Error(`no open transaction ${msg.tx}`);
      entry.endId = msg.id;
      entry.finish(msg.commit === true);
      return undefined; // answered when it has committed or rolled back
    }
    case 'close':
      if (!db.closed) await db.close();
      return null;
    default:
      throw new Error(`unknown database op ${String(msg.op)}`);
  }
}

try {
  db = await PGlite.create(workerData.dataDir);
  parentPort.postMessage({ ready: true });
} catch (err) {
  parentPort.postMessage({ ready: false, error: serializeError(err) });
}

parentPort.on('message', (msg) => {
  handle(msg).then(
    (result) => {
      if (result !== undefined) reply(msg.id, result);
    },
    (err) => fail(msg.id, err),
  );
});
