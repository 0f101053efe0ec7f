/**
 * Imported models as the engine's registry and `npm run eval` see them: a LoadedModel, an
 * EvalModel, both over ./store.ts's loader. Kept here so that each of them needs one line for
 * imported folders.
 */
import type { ModelCard } from '../../models/common/checkpoint';
import type { EvalModel } from '../../models/eval/model-dir';
import { summaryOf, type LoadedModel } from '../inference/model-registry';
import { IMPORTED_FAMILY, loadImportedModel } from './store';

export { isImportedCard } from './store';

export async function loadImportedForEngine(dir: string): Promise<LoadedModel> {
  const { card, model } = await loadImportedModel(dir);
  return {
    summary: summaryOf(card, model, IMPORTED_FAMILY),
    decode: (z, classes) => model.decode(z, classes),
    model,
    dispose: () => model.dispose(),
  };
}

/**
 * For `npm run eval` (server/cli/eval.ts): the model and the fields of its card the evaluation
 * reads (id, data set, shapes, classes, weights hash). The figures are written into card.json by
 * the evaluation itself, which keeps every other field.
 */
export async function loadImportedForEval(dir: string): Promise<EvalModel> {
  const { card, model } = await loadImportedModel(dir);
  const evalCard = { ...card, steps: 0 } as unknown as ModelCard;
  return { card: evalCard, model, dispose: () => model.dispose() };
}
