/**
 * The engine host process/thread: runs the TF.js engine away from the realtime event loop.
 *
 * Started by engine-client.ts through worker-entry.mjs, either as a worker_threads Worker (wasm
 * and cpu backends; options in workerData, buffers transferred) or as a child process (the native
 * tfjs-node backends, which are not safe in several threads; options in argv[2] as JSON, IPC with
 * 'advanced' serialization). The same engine-host.ts answers requests in both.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startEngineHost, type EngineHost } from './engine-host';
import type { EngineHostOptions, EngineRequest, HostMessage } from './worker-protocol';

interface Port {
  options: EngineHostOptions;
  /** Resolves once the message has left this host. */
  send(msg: HostMessage, transfer: ArrayBuffer[]): Promise<void>;
  onRequest(fn: (req: EngineRequest) => void): void;
  /** Ends this host after a start failure has been reported. */
  end(): void;
}

function threadPort(port: NonNullable<typeof parentPort>): Port {
  return {
    options: workerData as EngineHostOptions,
    send: async (msg, transfer) => port.postMessage(msg, transfer),
    onRequest: (fn) => port.on('message', fn),
    end: () => port.close(),
  };
}

function processPort(): Port {
  const send = process.send?.bind(process);
  if (!send) throw new Error('worker.ts must run in a worker thread or a forked child process');
  // The realtime process went away: nothing left to serve.
  process.on('disconnect', () => process.exit(0));
  return {
    options: JSON.parse(process.argv[2] ?? '{}') as EngineHostOptions,
    // No transfer between processes: the structured clone serialises each buffer once.
    send: (msg) =>
      new Promise<void>((resolve, reject) => {
        send(msg, undefined, {}, (err) => (err ? reject(err) : resolve()));
      }),
    onRequest: (fn) => process.on('message', (m) => fn(m as EngineRequest)),
    end: () => process.disconnect(),
  };
}

const port = parentPort ? threadPort(parentPort) : processPort();

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let host: EngineHost | undefined;
try {
  host = await startEngineHost(port.options);
} catch (err) {
  await port.send({ type: 'start-failed', error: errorMessage(err) }, []);
  port.end();
}

if (host) {
  const h = host;
  port.onRequest((req) => {
    void h.handle(req).then(({ response, transfer }) => port.send(response, transfer));
  });
  await port.send({ type: 'ready', info: h.info }, []);
}
