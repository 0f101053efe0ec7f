/**
 * The data set registry: what a training job, a benchmark or an evaluation names a data set by.
 *
 *   mnist                       the 10,000 digits of the `mnist` package, 28×28×1, labels 0-9
 *   shapes32, shapes64          the procedural shapes (./shapes), 10,000 images, RGB, labels = shape
 *   folder:<path>               a folder of PNG/JPEG/WebP (./image-folder), 32 px RGB
 *   folder<size>:<path>         ... at 28, 32 or 64 px, e.g. folder64:/data/faces
 *   folder<size>-grey:<path>    ... grey (1 channel), e.g. folder28-grey:/data/glyphs
 *
 * Every load returns the data set's fixed, seeded split into training and held-out images, with
 * pixels in [0, 1] (the contract of models/common/family.ts). No TF.js here: see
 * ./dataset-tensors for training batches as tensors.
 */
import type { Dataset, ImageShape } from '../common/family';
import { imageFolderOptions, type ImageFolderChannels, type ImageFolderSize } from './image-folder-options';
import { MNIST_CHANNELS, MNIST_CLASSES, MNIST_IMAGE_SIZE, loadMnistSplit, type MnistSet } from './mnist';
import { SHAPE_CLASS_NAMES, SHAPES_CHANNELS, loadShapesSplit } from './shapes';

/** The names `loadDataset` accepts, as shown in errors and help texts. */
export const DATASET_SPECS = ['mnist', 'shapes32', 'shapes64', 'folder:<path>', 'folder<28|32|64>[-grey]:<path>'] as const;

export interface LoadDatasetOptions {
  /** Folder images only: side in px (also settable in the name, `folder64:<path>`). */
  size?: ImageFolderSize;
  /** Folder images only: 1 (grey) or 3 (RGB) (also settable in the name, `folder32-grey:<path>`). */
  channels?: ImageFolderChannels;
}

type ParsedSpec =
  | { kind: 'mnist' }
  | { kind: 'shapes'; size: 32 | 64 }
  | { kind: 'folder'; path: string; size: ImageFolderSize; channels: ImageFolderChannels };

function unknown(spec: string): Error {
  return new Error(`unknown data set ${JSON.stringify(spec)}; valid: ${DATASET_SPECS.join(', ')}`);
}

/** Parses a data set name (throws for unknown names or bad folder options, listing the valid ones). */
export function parseDatasetSpec(spec: string, opts: LoadDatasetOptions = {}): ParsedSpec {
  const folder = /^folder(\d+)?(-grey)?:(.*)$/s.exec(spec);
  if (!folder) {
    if (opts.size !== undefined || opts.channels !== undefined) {
      throw new Error(`size and channels apply to folder:<path> data sets only, not ${JSON.stringify(spec)}`);
    }
    if (spec === 'mnist') return { kind: 'mnist' };
    if (spec === 'shapes32') return { kind: 'shapes', size: 32 };
    if (spec === 'shapes64') return { kind: 'shapes', size: 64 };
    throw unknown(spec);
  }
  const [, sizeText, grey, path] = folder;
  if (!path) throw new Error(`data set ${JSON.stringify(spec)}: no folder path after the colon`);
  const named = {
    size: sizeText === undefined ? undefined : Number(sizeText),
    channels: grey ? 1 : undefined,
  };
  for (const key of ['size', 'channels'] as const) {
    if (named[key] !== undefined && opts[key] !== undefined && named[key] !== opts[key]) {
      throw new Error(`data set ${JSON.stringify(spec)}: ${key} ${named[key]} in the name but ${opts[key]} in the options`);
    }
  }
  const { size, channels } = imageFolderOptions({
    size: (opts.size ?? named.size) as ImageFolderSize | undefined,
    channels: (opts.channels ?? named.channels) as ImageFolderChannels | undefined,
  });
  return { kind: 'folder', path, size, channels };
}

/**
 * Name, image shape and classes of a data set without loading it (to validate a job before it
 * runs); undefined for a folder, whose classes are only known once it is read. Throws for unknown
 * names like loadDataset.
 */
export function describeDataset(spec: string, opts: LoadDatasetOptions = {}): { name: string; imageShape: ImageShape; numClasses?: number } | undefined {
  const p = parseDatasetSpec(spec, opts);
  switch (p.kind) {
    case 'mnist':
      return { name: 'mnist', imageShape: [MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE, MNIST_CHANNELS], numClasses: MNIST_CLASSES };
    case 'shapes':
      return { name: `shapes${p.size}`, imageShape: [p.size, p.size, SHAPES_CHANNELS], numClasses: SHAPE_CLASS_NAMES.length };
    case 'folder':
      return undefined;
  }
}

function mnistDataset(set: MnistSet): Dataset {
  return {
    name: 'mnist',
    imageShape: [MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE, MNIST_CHANNELS],
    count: set.count,
    images: set.images,
    labels: Int32Array.from(set.labels),
    numClasses: MNIST_CLASSES,
    classNames: Array.from({ length: MNIST_CLASSES }, (_, d) => String(d)),
  };
}

/** The named data set's fixed split into training and held-out images (see the header). */
export async function loadDataset(spec: string, opts: LoadDatasetOptions = {}): Promise<{ train: Dataset; heldOut: Dataset }> {
  const p = parseDatasetSpec(spec, opts);
  switch (p.kind) {
    case 'mnist': {
      const { train, heldOut } = loadMnistSplit({ range: 'unit' });
      return { train: mnistDataset(train), heldOut: mnistDataset(heldOut) };
    }
    case 'shapes':
      return loadShapesSplit({ size: p.size });
    case 'folder': {
      // Imported on use: sharp's native library loads only for folder data sets.
      const { loadImageFolderSplit } = await import('./image-folder');
      return loadImageFolderSplit(p.path, { size: p.size, channels: p.channels });
    }
  }
}
