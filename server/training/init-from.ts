/**
 * Starting a job from another trained model's networks: the VAE-GAN's encoder and decoder from a
 * trained VAE (Larsen et al. 2016 start the generator from a VAE decoder).
 */
import type { FamilyInstance } from '../../models/common/family';
import { loadCheckpointInto, readCard } from '../../models/common/checkpoint';
import { familyDefinition } from '../../models/families';
import { initFromVae } from '../../models/vae-gan/index';

/** Which family a job of `family` may start from. */
const SOURCES: Partial<Record<string, string>> = { 'vae-gan': 'vae' };

export async function initFromModel(instance: FamilyInstance, modelPath: string, family: string): Promise<void> {
  const wanted = SOURCES[family];
  if (!wanted) throw new Error(`family ${family} cannot start from another model`);
  const card = await readCard(modelPath).catch((err: unknown) => {
    throw new Error(`initFrom: cannot read the model at ${modelPath}: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (card.family !== wanted) throw new Error(`initFrom: ${card.id} is a ${card.family} model; ${family} starts from a ${wanted}`);
  const source = familyDefinition(card.family).create(card.config as never, { name: card.dataset, imageShape: card.imageShape, numClasses: card.numClasses ?? undefined });
  try {
    await loadCheckpointInto(modelPath, source);
    initFromVae(instance, source.networks);
  } finally {
    source.dispose();
  }
}
