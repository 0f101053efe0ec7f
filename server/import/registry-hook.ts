/**
 * The engine registry's view of an imported model: a LoadedModel over ./store.ts's loader. Kept
 * here so that the registry's scan needs one line for imported folders.
 */
import type { LoadedModel } from '../inference/model-registry';
import { IMPORTED_FAMILY, loadImportedModel } from './store';

export { isImportedCard } from './store';

export async function loadImportedForEngine(dir: string): Promise<LoadedModel> {
  const { card, model } = await loadImportedModel(dir);
  return {
    summary: {
      id: card.id,
      name: card.name,
      family: IMPORTED_FAMILY,
      dataset: card.dataset,
      latentDim: model.latentDim,
      trained: true,
      imageShape: [...model.imageShape],
      numClasses: model.numClasses,
      ...(card.classNames ? { classNames: card.classNames } : {}),
      weightsHash: card.weightsHash,
    },
    decode: (z, classes) => model.decode(z, classes),
    model,
    dispose: () => model.dispose(),
  };
}
