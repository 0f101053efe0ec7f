/**
 * Every model family by name: the one place that knows them all (training jobs, the engine's
 * model registry and evaluation look families up here).
 */
import { cganFamily } from './cgan/index';
import { loadWeightsSync, type ModelCard } from './common/checkpoint';
import type { FamilyDefinition, FamilyInstance, FamilyName } from './common/family';
import { FAMILY_NAMES } from './common/family';
import { dcganFamily } from './dcgan/index';
import { vaeGanFamily } from './vae-gan/index';
import { vaeFamily } from './vae/index';
import { wganFamily, wganGpFamily } from './wgan/index';

const FAMILIES: Record<FamilyName, FamilyDefinition<never>> = {
  vae: vaeFamily as unknown as FamilyDefinition<never>,
  dcgan: dcganFamily as unknown as FamilyDefinition<never>,
  wgan: wganFamily as unknown as FamilyDefinition<never>,
  'wgan-gp': wganGpFamily as unknown as FamilyDefinition<never>,
  cgan: cganFamily as unknown as FamilyDefinition<never>,
  'vae-gan': vaeGanFamily as unknown as FamilyDefinition<never>,
};

/** The family called `name`; a clear error listing the known ones otherwise. */
export function familyDefinition(name: string): FamilyDefinition<Record<string, unknown>> {
  if (!(FAMILY_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown family ${JSON.stringify(name)}; one of ${FAMILY_NAMES.join(', ')}`);
  }
  return FAMILIES[name as FamilyName] as unknown as FamilyDefinition<Record<string, unknown>>;
}

/**
 * The family instance a checkpoint folder describes, with its weights loaded (checked against
 * the card's hash and every shape); disposed again if they do not load. The card's config goes
 * through the family's parseConfig.
 */
export function loadCheckpointInstance(dir: string, card: ModelCard): FamilyInstance {
  const family = familyDefinition(card.family);
  const dataset = { name: card.dataset, imageShape: card.imageShape, ...(card.numClasses ? { numClasses: card.numClasses } : {}) };
  // Through parseConfig: a config field added after the card was written takes its default
  // (off), and a card's config is checked like any other before a network is built from it.
  const instance: FamilyInstance = family.create(family.parseConfig(card.config, dataset), dataset);
  try {
    loadWeightsSync(dir, instance, card);
  } catch (err) {
    instance.dispose();
    throw err;
  }
  return instance;
}
