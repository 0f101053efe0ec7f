/**
 * The start and stop of every long-running process of the service (the server, the API-only
 * entry, the cluster's inference and training workers): one place that says how a process ends.
 */
import type { Logger } from './logger';

/**
 * On SIGINT or SIGTERM, logs `describe(signal)` once, runs `close` (each process closes its own
 * resources in its own order) and exits 0, or 1 if closing failed. A second signal while closing
 * is ignored.
 */
export function stopOnSignals(logger: Logger, describe: (signal: string) => string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(describe(signal));
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Runs a process's `main`; a failure to start prints its stack and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
