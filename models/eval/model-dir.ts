/**
 * A model folder (models/common/checkpoint.ts) for evaluation: loading it, and writing the
 * evaluation's figures into its card.
 *
 * Figures go in `card.metrics`: `summary` (the headline numbers, flat, for lists and the UI) and
 * `evaluation` (the whole report: protocol, floors, every truncation setting, likelihoods).
 * card.json is rewritten atomically (a temporary file renamed over it), and only if the weights
 * are still the ones evaluated (a training job may have replaced the model meanwhile).
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readCardSync, type ModelCard } from '../common/checkpoint';
import type { FamilyInstance, GenerativeModel } from '../common/family';
import { familyDefinition, loadCheckpointInstance } from '../families';
import type { VaeSource } from '../vae/model';
import type { EvalReport } from './evaluate';

export interface EvalModel {
  card: ModelCard;
  model: GenerativeModel;
  /** Encoder and decoder, for families that have both. */
  vae?: VaeSource;
  dispose(): void;
}

/** Loads the model in `dir` (weights checked against the card's hash and every shape). */
export function loadModelDir(dir: string): EvalModel {
  const card = readCardSync(dir);
  const family = familyDefinition(card.family);
  const instance = loadCheckpointInstance(dir, card);
  const hasVae = family.hasEncoder && instance.networks['encoder'] && instance.networks['decoder'];
  return {
    card,
    model: instance.generative(),
    ...(hasVae ? { vae: instance as FamilyInstance & { config?: { reconstruction?: 'bce' | 'mse' } } } : {}),
    dispose: () => instance.dispose(),
  };
}

/** The headline figures of a report (what lists and the UI show first). */
export function summarize(report: EvalReport): Record<string, unknown> {
  const main = report.settings.find((s) => s.truncation === 'psi=1') ?? report.settings[0];
  const round = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
  return {
    features: report.features.kind === 'domain' ? `domain (${report.features.name})` : `tfjs (${report.features.name})`,
    fid: round(main?.fid),
    fidFloor: round(report.floor.fid),
    fidOverFloor: round(main?.fidOverFloor, 3),
    precision: round(main?.precision.mean),
    recall: round(main?.recall.mean),
    precisionFloor: round(report.floor.precision.mean),
    recallFloor: round(report.floor.recall.mean),
    inceptionScore: round(main?.inceptionScore?.mean),
    inceptionScoreFloor: round(report.floor.inceptionScore?.mean),
    ...(main?.classAccuracy !== undefined ? { classAccuracy: round(main.classAccuracy), classAccuracyFloor: round(report.floor.classAccuracy) } : {}),
    ...(report.likelihood ? { elbo: round(report.likelihood.heldOut.elbo, 2), iwNll: round(report.likelihood.heldOut.iwNll, 2), iwK: report.likelihood.k } : {}),
  };
}

/**
 * Writes `report` into the card of the model in `dir` (see the header); returns the new card.
 * Throws, writing nothing, if the weights changed since `evaluatedHash`.
 */
export async function writeCardMetrics(dir: string, report: EvalReport, meta: { evaluatedHash: string; command: string; backend: string }): Promise<ModelCard> {
  const file = path.join(dir, 'card.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as ModelCard;
  if (raw.weightsHash !== meta.evaluatedHash) {
    throw new Error(`${dir}: the model's weights changed during the evaluation (hash ${raw.weightsHash}, evaluated ${meta.evaluatedHash}); nothing written`);
  }
  const card: ModelCard = {
    ...raw,
    metrics: {
      ...raw.metrics,
      summary: summarize(report),
      evaluation: { ...report, evaluatedAt: new Date().toISOString(), command: meta.command, backend: meta.backend, weightsHash: meta.evaluatedHash },
    },
  };
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, `${JSON.stringify(card, null, 2)}\n`);
  await rename(tmp, file);
  return card;
}
