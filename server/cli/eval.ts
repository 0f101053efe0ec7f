/**
 * `npm run eval -- --model <id> [options]`
 *
 * Evaluates a model of MODEL_DIR (models/eval/evaluate.ts has the protocol): domain FID,
 * improved precision/recall (k = 3) and Inception Score at every truncation setting, class
 * accuracy for conditional models, ELBO and importance-weighted NLL for models with an encoder,
 * each beside the real-vs-real floor of the data set; prints the table, stores the figures in
 * the model's card.json (`metrics.summary`, `metrics.evaluation`; atomically) and writes sample
 * grids (and reconstructions) as PNG to --out. With --json the last line of stdout is one JSON
 * object with everything. Progress goes to stderr.
 *
 * The FID here is a *domain* FID: features of the project's classifier of the data set
 * (models/pretrained/classifier-<data set>), not Inception-v3's. With --features <model.json>
 * a user's TF.js model gives the features instead (Inception-v3 at pool3 for the classic FID).
 *
 * Options:
 *   --model-dir DIR       where the model lives (MODEL_DIR)
 *   --classifier DIR      a classifier folder other than <MODEL_DIR>/classifier-<data set>
 *                         or the shipped one
 *   --features FILE       a TF.js model.json to take FID and precision/recall features from
 *   --features-size N     its input side when the model leaves it open (299)
 *   --features-range a,b  its input range (-1,1)
 *   --samples N           images per setting (5000); fewer is for trials, the figures then do
 *                         not compare with stored ones
 *   --truncations LIST    e.g. psi=1,psi=0.7,radius=2 (psi=1,psi=0.7,psi=0.5,radius=2,radius=1)
 *   --iw-k N              importance samples for the NLL (100)
 *   --out DIR             PNG grids (DATA_DIR/eval/<id>)
 *   --dry-run             do not write the card
 *   --write               write it even with options other than the protocol's (--samples,
 *                         --truncations, --iw-k, --features), which otherwise leave it alone
 *   --json                one JSON object on the last line
 *   --backend NAME        TF.js backend (TF_BACKEND or the ladder)
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, env, type BackendName } from '../../lib/env';
import { findClassifierDir, loadClassifier, type DomainClassifier } from '../../models/classifier/index';
import { loadDataset } from '../../models/datasets/index';
import { decodeAll, evaluateModel, EVAL_DEFAULTS, type EvalReport, type SettingMetrics } from '../../models/eval/evaluate';
import { domainFeatures, type FeatureExtractor } from '../../models/eval/features';
import { loadModelDir, summarize, writeCardMetrics } from '../../models/eval/model-dir';
import { loadTfjsFeatureExtractor } from '../../models/eval/tfjs-features';
import { evaluationLatents, parseTruncation } from '../../models/eval/truncation';
import { readCardSync } from '../../models/common/checkpoint';
import { isImportedCard, loadImportedForEval } from '../import/registry-hook';
import { initEngine } from '../inference/engine';
import { encodePng } from '../rooms/encode-frame';
import { intFlag, parseFlags, runCli } from './args';

const KNOWN = ['model', 'model-dir', 'classifier', 'features', 'features-size', 'features-range', 'samples', 'truncations', 'iw-k', 'out', 'backend'];

/** Issue 4's quality targets for the shipped MNIST models (printed, never used to change a figure). */
const TARGETS = {
  fidOverFloor: 3,
  precision: 0.7,
  recall: 0.6,
  classAccuracy: 0.95,
};

function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w.:/=,-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}

const f2 = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const ms = (m: { mean: number; std: number } | undefined, d = 3) => (m ? `${m.mean.toFixed(d)} ± ${m.std.toFixed(d)}` : '-');
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);

/** The report as a text table. */
function formatReport(id: string, family: string, report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`${id} (${family}) against ${report.reference.count} held-out ${report.reference.dataset} images; ${report.protocol.samples} images per row`);
  lines.push(`FID: ${report.features.description}`);
  lines.push(`precision/recall: k = ${report.protocol.k}, mean ± std over chunks of ${report.reference.count}; IS: ${report.protocol.isSplits} splits${report.classifier ? ` (${report.classifier.id})` : ''}`);
  const header = ['set', 'FID', '×floor', 'precision', 'recall', 'IS', 'class acc'];
  const rows: string[][] = [header];
  const fl = report.floor;
  rows.push(['real: training vs held-out (floor)', f2(fl.fid, 3), '1.00', ms(fl.precision), ms(fl.recall), ms(fl.inceptionScore, 2), fl.classAccuracy !== undefined ? `${pct(fl.classAccuracy)} (held-out)` : '-']);
  for (const s of report.settings) {
    rows.push([`model ${s.truncation}`, f2(s.fid, 3), f2(s.fidOverFloor), ms(s.precision), ms(s.recall), ms(s.inceptionScore, 2), s.classAccuracy !== undefined ? pct(s.classAccuracy) : '-']);
  }
  const widths = header.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const r of rows) lines.push(r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  '));
  const main = report.settings.find((s) => s.truncation === 'psi=1');
  if (main?.perClassAccuracy) lines.push(`class accuracy per class at psi=1: ${main.perClassAccuracy.map((a, k) => `${k}: ${pct(a)}`).join('  ')}`);
  if (report.likelihood) {
    const l = report.likelihood;
    lines.push(
      `likelihood (${l.reconstruction}, nats per image): held-out ELBO ${f2(l.heldOut.elbo)} (recon ${f2(l.heldOut.recon)}, KL ${f2(l.heldOut.kl)}), ` +
        `IW-NLL k=${l.k} ${f2(l.heldOut.iwNll)}; ${l.train.count} training images: ELBO ${f2(l.train.elbo)}, IW-NLL ${f2(l.train.iwNll)}`,
    );
  }
  return lines.join('\n');
}

/** Issue 4's targets where they apply (MNIST DCGAN / WGAN-GP, conditional GAN), as lines. */
function targetLines(family: string, dataset: string, report: EvalReport): string[] {
  const main: SettingMetrics | undefined = report.settings.find((s) => s.truncation === 'psi=1');
  if (!main || dataset !== 'mnist') return [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const out: string[] = [];
  if (family === 'dcgan' || family === 'wgan-gp') {
    out.push(`target FID ≤ ${TARGETS.fidOverFloor}× floor: ${f2(main.fidOverFloor)}× ${verdict(main.fidOverFloor <= TARGETS.fidOverFloor)}`);
    out.push(`target precision ≥ ${TARGETS.precision}: ${f2(main.precision.mean, 3)} ${verdict(main.precision.mean >= TARGETS.precision)}`);
    out.push(`target recall ≥ ${TARGETS.recall}: ${f2(main.recall.mean, 3)} ${verdict(main.recall.mean >= TARGETS.recall)}`);
  }
  if (family === 'cgan' && main.classAccuracy !== undefined) {
    out.push(`target class accuracy ≥ ${pct(TARGETS.classAccuracy)}: ${pct(main.classAccuracy)} ${verdict(main.classAccuracy >= TARGETS.classAccuracy)}`);
  }
  return out;
}

/** rows × cols images (count × h × w × c in [0, 1]) as one PNG. */
function gridPng(images: Float32Array, count: number, shape: readonly [number, number, number], cols: number): Buffer {
  const [h, w, c] = shape;
  const rows = Math.ceil(count / cols);
  const W = cols * w;
  const grid = new Float32Array(rows * h * W * c);
  for (let i = 0; i < count; i++) {
    const gy = Math.floor(i / cols) * h;
    const gx = (i % cols) * w;
    for (let y = 0; y < h; y++) grid.set(images.subarray((i * h + y) * w * c, (i * h + y + 1) * w * c), ((gy + y) * W + gx) * c);
  }
  return encodePng(grid, W, rows * h, c as 1 | 3);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv, KNOWN, ['json', 'dry-run', 'write', 'help']);
  if (flags['help']) {
    console.log('usage: npm run eval -- --model <id> [--json] [--dry-run] [--features model.json] [--samples N]\nsee the header of server/cli/eval.ts');
    return 0;
  }
  if (typeof flags['model'] !== 'string') throw new Error('--model <id> is required');
  const backend = flags['backend'];
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(String(backend))) throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  const id = flags['model'];
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id)) throw new Error(`--model: ${JSON.stringify(id)} is not a model id`);
  const modelDir = typeof flags['model-dir'] === 'string' ? flags['model-dir'] : env().MODEL_DIR;
  const samples = intFlag(flags, 'samples', EVAL_DEFAULTS.samples)!;
  if (samples < 10 || samples > 100_000) throw new Error('--samples must be in [10, 100000]');
  const iwK = intFlag(flags, 'iw-k', EVAL_DEFAULTS.iwK)!;
  if (iwK < 1 || iwK > 10_000) throw new Error('--iw-k must be in [1, 10000]');
  const truncations = typeof flags['truncations'] === 'string' ? flags['truncations'].split(',').map(parseTruncation) : EVAL_DEFAULTS.truncations;
  let range: [number, number] | undefined;
  if (typeof flags['features-range'] === 'string') {
    const r = flags['features-range'].split(',').map(Number);
    if (r.length !== 2 || !r.every(Number.isFinite)) throw new Error('--features-range wants two numbers, e.g. -1,1');
    range = [r[0]!, r[1]!];
  }
  const log = (line: string) => console.error(line);

  const dir = path.join(modelDir, id);
  if (!existsSync(path.join(dir, 'card.json'))) throw new Error(`unknown model ${id}: ${dir} holds no model (card.json)`);
  const engine = await initEngine((backend as BackendName | undefined) ?? env().TF_BACKEND);
  const started = Date.now();
  const loaded = isImportedCard(readCardSync(dir)) ? await loadImportedForEval(dir) : loadModelDir(dir);
  const { card } = loaded;
  const data = await loadDataset(card.dataset);
  let classifier: DomainClassifier | undefined;
  let extractor: FeatureExtractor | undefined;
  try {
    const classifierDir = typeof flags['classifier'] === 'string' ? flags['classifier'] : findClassifierDir(data.train.name, [modelDir]);
    if (classifierDir) classifier = loadClassifier(classifierDir);
    if (typeof flags['features'] === 'string') {
      extractor = await loadTfjsFeatureExtractor(flags['features'], {
        ...(flags['features-size'] !== undefined ? { inputSize: intFlag(flags, 'features-size')! } : {}),
        ...(range ? { range } : {}),
      });
    } else if (classifier) {
      extractor = domainFeatures(classifier);
    } else {
      throw new Error(`no domain classifier for data set ${data.train.name}: train one with npm run train:classifier -- --dataset ${card.dataset}, or give --features <model.json>`);
    }
    log(`engine: ${engine.backend}; model ${card.id} (${card.family}, ${card.dataset}, ${card.steps} steps); features: ${extractor.name}`);
    const { report, artifacts } = evaluateModel({
      model: loaded.model,
      data,
      extractor,
      ...(classifier ? { classifier } : {}),
      ...(loaded.vae ? { vae: loaded.vae } : {}),
      options: { samples, truncations, iwK },
      log,
    });

    const out = typeof flags['out'] === 'string' ? flags['out'] : path.join(env().DATA_DIR, 'eval', card.id);
    await mkdir(out, { recursive: true });
    const files: string[] = [];
    const shape = card.imageShape;
    const px = shape[0] * shape[1] * shape[2];
    for (const t of truncations) {
      // The first latents of each setting, as the evaluation drew them: 8 rows of 8, or of one
      // image per class for a conditional model (column k asks for class k).
      const cols = card.numClasses ?? 8;
      const n = Math.min(8 * cols, samples);
      const z = evaluationLatents(EVAL_DEFAULTS.seed, n, card.latentDim, t).subarray(0, n * card.latentDim);
      const classes = card.numClasses ? Int32Array.from({ length: n }, (_, i) => i % card.numClasses!) : undefined;
      const file = path.join(out, `samples-${t.kind}-${t.kind === 'psi' ? t.psi : t.radius}.png`);
      await writeFile(file, gridPng(decodeAll(loaded.model, z, classes, n, px, n), n, shape, cols));
      files.push(file);
    }
    if (artifacts.reconstructions) {
      // Pairs of rows: originals above their reconstructions.
      const { originals, reconstructed, count } = artifacts.reconstructions;
      const cols = 8;
      const pairs = new Float32Array(2 * count * px);
      let at = 0;
      for (let row = 0; row * cols < count; row++) {
        const n = Math.min(cols, count - row * cols);
        pairs.set(originals.subarray(row * cols * px, (row * cols + n) * px), at);
        at += cols * px;
        pairs.set(reconstructed.subarray(row * cols * px, (row * cols + n) * px), at);
        at += cols * px;
      }
      const file = path.join(out, 'reconstructions.png');
      await writeFile(file, gridPng(pairs, at / px, shape, cols));
      files.push(file);
    }

    const command = `npm run eval -- ${shellQuote(argv)}`;
    // Figures of another protocol (fewer images, other settings) do not compare with stored ones:
    // they are stored only when asked for with --write (the report records its protocol).
    const offProtocol = samples !== EVAL_DEFAULTS.samples || iwK !== EVAL_DEFAULTS.iwK || flags['truncations'] !== undefined || flags['features'] !== undefined;
    const dryRun = flags['dry-run'] === true || (offProtocol && flags['write'] !== true);
    if (!dryRun) await writeCardMetrics(dir, report, { evaluatedHash: card.weightsHash, command, backend: engine.backend });
    const wallMs = Date.now() - started;

    console.log(formatReport(card.id, card.family, report));
    for (const line of targetLines(card.family, card.dataset, report)) console.log(line);
    console.log(`images: ${files.join(', ')}`);
    const why = flags['dry-run'] ? '--dry-run' : 'options other than the protocol\'s; --write stores them anyway';
    console.log(`${dryRun ? `card not written (${why})` : `metrics written to ${path.join(dir, 'card.json')}`}; wall time ${(wallMs / 1000).toFixed(0)} s`);
    if (flags['json']) {
      console.log(JSON.stringify({ model: card.id, family: card.family, dataset: card.dataset, weightsHash: card.weightsHash, command, backend: tf.getBackend(), written: !dryRun, wallMs, images: files, summary: summarize(report), report }));
    }
    return 0;
  } finally {
    extractor?.dispose();
    classifier?.dispose();
    loaded.dispose();
  }
}

runCli(main);
