/**
 * What a training job can name: families (models/families.ts) and data sets
 * (models/datasets/index.ts), with the errors a user sees for names that do not exist.
 */
import type { Dataset, ImageShape } from '../../models/common/family';
import { describeDataset, loadDataset } from '../../models/datasets/index';
export { familyDefinition } from '../../models/families';

export async function loadTrainingData(spec: string): Promise<{ train: Dataset; heldOut: Dataset }> {
  return await loadDataset(spec);
}

export function datasetIsLabelled(d: Dataset): boolean {
  return d.labels !== undefined && (d.numClasses ?? 0) > 1;
}

/**
 * The shape of a named data set without loading it (for validating a job at submit time), or
 * undefined for a folder, whose images are only known once read.
 */
export function describeDatasetSpec(spec: string): { name: string; imageShape: ImageShape; numClasses?: number } | undefined {
  return describeDataset(spec);
}
