/**
 * The directions worker: a child process (started by ./worker-client.ts) that holds models and
 * classifiers and runs discovery jobs and steers, so that no tensor op of theirs runs on the
 * realtime thread or holds up the engine worker that renders room frames.
 *
 * One job at a time (the service queues them); steers may arrive while a job runs and are
 * answered between the job's batches: a job yields to the event loop at every progress report
 * (each batch of decodes), so a steer waits at most one batch. Every tensor op is tidy; models
 * stay loaded (at most MAX_MODELS, least recently used first out) and are reloaded when a model's
 * weights change on disk.
 *
 * argv[2] is a JSON WorkerOptions. Messages: ./worker-protocol.ts.
 */
import path from 'node:path';
import { readCardSync } from '../../models/common/checkpoint';
import {
  discoverDirections,
  expectedCount,
  scoreDirection,
  steerLatents,
  type AttributeScorer,
  type FactorProbe,
} from '../../models/directions/index';
import { initEngine } from '../inference/engine';
import { BUILTIN_RANDOM_DCGAN_ID } from '../inference/model-registry';
import { datasetImages, factorProbe, loadDirectionModel, loadScorer, type DirectionModel } from './loaders';
import type { FoundWithScores, RunJobRequest, SteerRequest, WorkerMessage, WorkerOptions, WorkerRequest } from './worker-protocol';

const send = process.send?.bind(process);
if (!send) throw new Error('server/directions/worker.ts runs as a forked child process');
const post = (m: WorkerMessage) => {
  if (process.connected) send(m);
};

const options = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
/** Models kept loaded. */
const MAX_MODELS = 3;
/** Progress messages at most this often per job (the last one always goes). */
const PROGRESS_INTERVAL_MS = 100;

interface Loaded {
  model: DirectionModel;
  scorer: AttributeScorer | undefined;
  probe: FactorProbe | undefined;
  dispose(): void;
}

const cache = new Map<string, { hash: string | undefined; loaded: Promise<Loaded> }>();

function currentHash(modelId: string): string | undefined {
  if (modelId === BUILTIN_RANDOM_DCGAN_ID) return undefined;
  try {
    return readCardSync(path.join(options.modelDir, modelId)).weightsHash;
  } catch {
    return undefined;
  }
}

async function load(modelId: string): Promise<Loaded> {
  const hash = currentHash(modelId);
  const hit = cache.get(modelId);
  if (hit && hit.hash === hash) {
    cache.delete(modelId);
    cache.set(modelId, hit); // most recently used last
    return hit.loaded;
  }
  if (hit) void hit.loaded.then((l) => l.dispose(), () => undefined);
  const loaded = (async (): Promise<Loaded> => {
    const model = await loadDirectionModel(options.modelDir, modelId);
    const s = loadScorer(model.dataset, options.modelDir, model.gen);
    return {
      model,
      scorer: s?.scorer,
      probe: model.gen.encodeMean ? factorProbe(model.dataset, s?.scorer) : undefined,
      dispose: () => {
        model.dispose();
        s?.classifier.dispose();
      },
    };
  })();
  cache.set(modelId, { hash, loaded });
  loaded.catch(() => cache.delete(modelId));
  while (cache.size > MAX_MODELS) {
    const [oldest, entry] = cache.entries().next().value!;
    cache.delete(oldest);
    void entry.loaded.then((l) => l.dispose(), () => undefined);
  }
  return loaded;
}

const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));
const vectors = (rows: number[][] | undefined) => rows?.map((r) => Float32Array.from(r));

async function runJob(req: RunJobRequest): Promise<FoundWithScores[]> {
  const { model, scorer, probe } = await load(req.modelId);
  const { gen } = model;
  const { spec } = req;
  const count = expectedCount(spec);
  const total = 100 * (1 + count);
  let last = 0;
  const report = async (phase: number, fraction: number) => {
    const done = Math.min(total, Math.round(100 * (phase + Math.min(1, fraction))));
    const now = performance.now();
    if (now - last >= PROGRESS_INTERVAL_MS || done === total) {
      last = now;
      post({ type: 'progress', id: req.id, done, total });
    }
    await yieldToEvents(); // steers waiting for the worker get their turn here
  };
  const images = spec.method === 'pca' && spec.params.source === 'encoded' ? await datasetImages(model.dataset, spec.params.samples, gen.imageShape) : undefined;
  const primary = req.primary ? Float32Array.from(req.primary) : undefined;
  const found = await discoverDirections(
    spec,
    {
      gen,
      ...(scorer ? { scorer } : {}),
      ...(req.positive ? { positive: vectors(req.positive)! } : {}),
      ...(req.negative ? { negative: vectors(req.negative)! } : {}),
      ...(primary ? { primary } : {}),
      ...(req.conditions ? { conditions: vectors(req.conditions)! } : {}),
      ...(images ? { images } : {}),
    },
    (done, n) => report(0, done / n),
  );
  const target = spec.method === 'classifier-gradient' || spec.method === 'linear-boundary' ? spec.params.attribute : undefined;
  const out: FoundWithScores[] = [];
  for (const [i, f] of found.entries()) {
    const scores = await scoreDirection(gen, scorer, f.vector, { ...req.scoring, ...(target ? { target } : {}) }, probe, (done, n) => report(1 + i, done / n));
    const held = f.meta['heldOutAccuracy'];
    out.push({
      ...(f.suffix ? { suffix: f.suffix } : {}),
      vector: Array.from(f.vector),
      scores: { ...scores, ...(typeof held === 'number' ? { heldOutAccuracy: held } : {}), method: f.meta },
    });
  }
  await report(1 + count, 1);
  return out;
}

async function steer(req: SteerRequest) {
  const { model, scorer } = await load(req.modelId);
  if (!scorer) throw new Error(`model ${req.modelId} has no classifier to steer by`);
  const { gen } = model;
  if (req.z.length !== gen.latentDim) throw new Error(`z has ${req.z.length} values, the model ${gen.latentDim}`);
  const classes = gen.numClasses ? Int32Array.of(req.classLabel ?? 0) : undefined;
  const r = await steerLatents(gen, scorer, Float32Array.from(req.z), classes, 1, {
    attribute: req.attribute,
    steps: req.steps,
    stepSize: req.stepSize,
    sign: req.sign,
  });
  return { z: Array.from(r.z), steps: r.steps[0]!, value: r.value[0]!, reached: r.reached[0] === 1 };
}

const engine = initEngine(options.backend);

async function handle(req: WorkerRequest): Promise<void> {
  try {
    await engine;
    if (req.type === 'run') post({ type: 'result', id: req.id, ok: true, directions: await runJob(req) });
    else post({ type: 'result', id: req.id, ok: true, steer: await steer(req) });
  } catch (err) {
    post({ type: 'result', id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}

process.on('message', (m: WorkerRequest) => void handle(m));
// The service went away: nothing left to answer to.
process.on('disconnect', () => process.exit(0));

try {
  post({ type: 'ready', backend: (await engine).backend });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
