/**
 * Entry point of the server without Next.js: the HTTP API, Socket.IO and the engine worker on the
 * configured database (`npm run start:api`). What the durability test starts, `kill -9`s and
 * starts again (tests/integration/durability-kill.test.ts), and a way to run the realtime service
 * behind another web front. Prints one line `Latentroom API ready at <url>` once it listens.
 *
 * Run it as a single process (`node --import tsx server/api-entry.ts`): the `tsx` command runs
 * the script in a child process, which a signal to the parent would not reach.
 */
import { join } from 'node:path';
import { env } from '../lib/env';
import { startServer } from './app';
import { openDatabase } from './db/open-database';
import { createEngineClient } from './inference/engine-client';
import { describeEngine } from './inference/engine-protocol';
import { API_READY_LINE } from './api-ready';
import { createLogger } from './logger';
import { runMain, stopOnSignals } from './process-lifecycle';

async function main(): Promise<void> {
  const config = env();
  const logger = createLogger(config.LOG_LEVEL);
  // Neither waits for the other: the engine loads its models while the database recovers and migrates.
  const [engine, database] = await Promise.all([
    createEngineClient({
      backend: config.TF_BACKEND,
      modelDir: config.MODEL_DIR,
      decodeBatch: { maxBatch: config.DECODE_MAX_BATCH, maxWaitMs: config.DECODE_MAX_WAIT_MS },
    }),
    openDatabase(config.DATABASE_URL || join(config.DATA_DIR, 'db')),
  ]);
  const server = await startServer({
    port: config.PORT,
    host: config.HOST,
    engine,
    database,
    logger,
    limits: {
      requestsPerSecond: config.RATE_LIMIT_OPS_PER_S,
      requestBurst: config.RATE_LIMIT_OPS_BURST,
      maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
      allowedOrigins: config.ALLOWED_ORIGINS,
    },
  });
  logger.info(describeEngine(engine.info));
  logger.info(`Database: ${database.kind}`);
  console.log(`${API_READY_LINE}${server.url}`);

  stopOnSignals(
    logger,
    (signal) => `${signal}: shutting down`,
    async () => {
      await server.close();
      await engine.close();
      await database.close();
    },
  );
}

runMain(main);
