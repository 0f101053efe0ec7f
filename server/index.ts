/**
 * Entry point: wires the real dependencies (env, engine worker, database, Next.js) into
 * startServer and prints where to open the app. Nothing else lives here.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env } from '../lib/env';
import { startServer } from './app';
import { clusterConfig } from './cluster/config';
import { startClusterNode } from './cluster/start-node';
import { openDatabase } from './db/open-database';
import { createDirectionsService } from './directions/service';
import { createImportService } from './import/service';
import { createEngineClient } from './inference/engine-client';
import { describeEngine } from './inference/engine-protocol';
import { createLogger } from './logger';
import { createPointsService } from './points/service';
import { startTrainingService } from './training/service';
import { runMain, stopOnSignals } from './process-lifecycle';

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<void> {
  const config = env();
  const logger = createLogger(config.LOG_LEVEL);
  // Cluster mode when REDIS_URL is set (server/cluster); otherwise one self-contained process.
  const cluster = clusterConfig(config);
  const node = cluster ? await startClusterNode(cluster, logger) : undefined;

  const engine = await createEngineClient({
    backend: config.TF_BACKEND,
    modelDir: config.MODEL_DIR,
    decodeBatch: { maxBatch: config.DECODE_MAX_BATCH, maxWaitMs: config.DECODE_MAX_WAIT_MS },
  });
  const open = () => openDatabase(config.DATABASE_URL || join(config.DATA_DIR, 'db'));
  // Nodes starting together migrate one at a time.
  const database = node ? await node.exclusiveMigration(open) : await open();
  const training = await startTrainingService({
    database,
    engine,
    dataDir: config.DATA_DIR,
    modelDir: config.MODEL_DIR,
    backend: config.TF_BACKEND,
    logger,
    ...(node?.training ? { startProcess: node.training.startProcess } : {}),
  });
  const imports = createImportService({
    modelDir: config.MODEL_DIR,
    database,
    engine,
    backend: config.TF_BACKEND,
    logger,
    ...(training.evaluations ? { evaluations: training.evaluations } : {}),
  });
  const directions = createDirectionsService({ database, engine, modelDir: config.MODEL_DIR, backend: config.TF_BACKEND, logger });
  const server = await startServer({
    port: config.PORT,
    host: config.HOST,
    engine,
    database,
    training,
    imports,
    directions,
    models: {
      modelDir: config.MODEL_DIR,
      points: createPointsService({ engine, modelDir: config.MODEL_DIR, dataDir: config.DATA_DIR, backend: config.TF_BACKEND, logger }),
    },
    logger,
    limits: {
      requestsPerSecond: config.RATE_LIMIT_OPS_PER_S,
      requestBurst: config.RATE_LIMIT_OPS_BURST,
      maxPayloadBytes: config.MAX_PAYLOAD_BYTES,
      allowedOrigins: config.ALLOWED_ORIGINS,
    },
    ...(config.SERVE_APP ? { next: { dev: config.NODE_ENV !== 'production', dir: ROOT_DIR } } : {}),
    ...(node ? { cluster: node.realtime } : {}),
  });

  console.log(describeEngine(engine.info));
  console.log(`Database: ${database.kind}${database.kind === 'pglite' ? ` in ${join(config.DATA_DIR, 'db')}` : ''}`);
  if (node) console.log(`Cluster node ${node.config.nodeId} (prefix ${node.config.prefix}, frames: ${node.config.inference})`);
  console.log(`Latentroom ready at ${server.url}`);

  stopOnSignals(
    logger,
    (signal) => `${signal}: shutting down`,
    async () => {
      await server.close();
      await node?.close();
      await directions.close();
      await training.close();
      await engine.close();
      await database.close();
    },
  );
}

runMain(main);
