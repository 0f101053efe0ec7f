/**
 * Method 2, the linear boundary (Shen, Gu, Tang & Zhou 2020, "Interpreting the Latent Space of
 * GANs for Semantic Face Editing", CVPR; "InterFaceGAN"): for a binary attribute, a linear
 * classifier in Z separates the latents whose images have it from those that do not, and the
 * unit normal n of its hyperplane is the editing direction: z + α·n adds the attribute, and the
 * signed distance n·z + b predicts how much of it an image shows.
 *
 *   1. Sample N latents zᵢ ~ N(0, I), decode them, score each image's attribute with the
 *      classifier (./attributes.ts: a class probability or a factor's predicted value).
 *   2. Keep the confident extremes, as the paper does: the `extremes` share of the latents with
 *      the highest scores as positives and the same share with the lowest as negatives (the
 *      middle, where the classifier's own labels are least reliable, is left out). Images
 *      without the attribute (a circle's rotation) are left out first. By default the share is
 *      0.2 for a factor and, for a class, half the share the classifier gives that class.
 *   3. Split them (seeded) into a training part and `heldOut` held-out part, fit an
 *      L2-regularised logistic regression (./logistic.ts; the paper fits a linear SVM: both give
 *      a separating hyperplane, and logistic regression needs no extra solver), and report the
 *      held-out accuracy of the fit.
 *   4. The direction is w/‖w‖, oriented toward the positives.
 */
import { mulberry32, shuffleInPlace } from '../common/random';
import { normalize } from '../../lib/latent/vector';
import { attributeValue, hasAttribute, lacksAttribute } from './attributes';
import { fitLogistic, logisticAccuracy } from './logistic';
import { sampleClasses, sampleLatents, scoreLatents } from './sampling';
import type { AttributeScorer, DirectionGenerator, FoundDirection, ProgressFn } from './types';

/** Share taken from each end by default (a factor's; a class's is at most this). */
export const DEFAULT_EXTREMES = 0.2;
/** Smallest default share for a class (a class the classifier almost never gives). */
const MIN_CLASS_EXTREMES = 0.01;

export interface LinearBoundaryParams {
  attribute: string;
  /** Latents sampled and scored. */
  samples: number;
  /**
   * Share of the (eligible) latents taken from each end, in (0, 0.5]. Default DEFAULT_EXTREMES for
   * a factor; for a class, half the share of latents labelled with it (at most DEFAULT_EXTREMES).
   */
  extremes?: number | undefined;
  /** Share of the extremes held out to measure the fit, in (0, 0.9]. */
  heldOut: number;
  /** L2 weight of the logistic regression. */
  lambda: number;
  seed: number;
}

export async function linearBoundaryDirection(
  gen: DirectionGenerator,
  scorer: AttributeScorer,
  params: LinearBoundaryParams,
  onProgress?: ProgressFn,
): Promise<FoundDirection> {
  const attribute = scorer.attribute(params.attribute);
  if (params.extremes !== undefined && !(params.extremes > 0 && params.extremes <= 0.5)) throw new RangeError(`extremes must be in (0, 0.5], got ${params.extremes}`);
  if (!(params.heldOut > 0 && params.heldOut <= 0.9)) throw new RangeError(`heldOut must be in (0, 0.9], got ${params.heldOut}`);
  const dim = gen.latentDim;
  const n = params.samples;
  const z = sampleLatents(params.seed, n, dim);
  const classes = sampleClasses(params.seed, n, gen.numClasses);
  // Scoring is nearly all of the work: it is the progress; the fit is the last unit.
  const scored = await scoreLatents(gen, scorer, z, classes, n, (done) => onProgress?.(done, n + 1));

  const eligible: number[] = [];
  for (let i = 0; i < n; i++) if (!lacksAttribute(scored, attribute, i)) eligible.push(i);
  const value = (i: number) => attributeValue(scored, attribute, i);
  eligible.sort((a, b) => value(a) - value(b) || a - b);
  let extremes = params.extremes;
  if (extremes === undefined) {
    if (attribute.kind === 'class') {
      // A digit is one class in ten: the top 20% of p(7) would be half sevens, half near-sevens.
      let labelled = 0;
      for (const i of eligible) if (hasAttribute(scored, attribute, i)) labelled++;
      extremes = Math.min(DEFAULT_EXTREMES, Math.max(MIN_CLASS_EXTREMES, labelled / eligible.length / 2));
    } else extremes = DEFAULT_EXTREMES;
  }
  const m = Math.floor(eligible.length * extremes);
  if (m < 4) throw new Error(`too few latents at the extremes (${m} per side of ${eligible.length}): sample more`);
  const negatives = eligible.slice(0, m);
  const positives = eligible.slice(eligible.length - m);

  // Seeded split of the 2m extremes into training and held-out rows.
  const rows = Uint32Array.from([...negatives, ...positives]);
  const labels = new Map<number, number>([...negatives.map((i) => [i, 0] as const), ...positives.map((i) => [i, 1] as const)]);
  shuffleInPlace(rows, mulberry32((params.seed ^ 0x5b11_7000) >>> 0));
  const heldCount = Math.max(1, Math.round(rows.length * params.heldOut));
  const pack = (ids: Uint32Array) => {
    const x = new Float64Array(ids.length * dim);
    const y = new Uint8Array(ids.length);
    ids.forEach((id, r) => {
      x.set(z.subarray(id * dim, (id + 1) * dim), r * dim);
      y[r] = labels.get(id)!;
    });
    return { x, y, n: ids.length };
  };
  const held = pack(rows.subarray(0, heldCount));
  const train = pack(rows.subarray(heldCount));
  const fit = fitLogistic(train.x, train.y, train.n, dim, params.lambda);
  const vector = normalize(fit.w);
  if (!vector) throw new Error('the fitted boundary has zero weights: the extremes are not separable along any direction');
  await onProgress?.(n + 1, n + 1);
  return {
    vector,
    meta: {
      attribute: attribute.name,
      samples: n,
      extremes,
      perSide: m,
      heldOutAccuracy: logisticAccuracy(fit, held.x, held.y, held.n, dim),
      trainAccuracy: logisticAccuracy(fit, train.x, train.y, train.n, dim),
      heldOutCount: held.n,
      negativeMax: value(negatives[negatives.length - 1]!),
      positiveMin: value(positives[0]!),
      newtonIterations: fit.iterations,
    },
  };
}
