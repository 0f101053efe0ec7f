/**
 * The sizes and channel counts an image folder can be loaded at, and their checks: apart from
 * ./image-folder so that naming a folder data set (./index) does not load sharp's native library.
 */
export const IMAGE_FOLDER_SIZES = [28, 32, 64] as const;
export type ImageFolderSize = (typeof IMAGE_FOLDER_SIZES)[number];
export const IMAGE_FOLDER_CHANNELS = [1, 3] as const;
export type ImageFolderChannels = (typeof IMAGE_FOLDER_CHANNELS)[number];

export interface ImageFolderOptions {
  /** Side of the square images, px (default 32). */
  size?: ImageFolderSize;
  /** 1 (grey) or 3 (RGB; default). */
  channels?: ImageFolderChannels;
}

/** Checks the options, with errors naming the bad field. */
export function imageFolderOptions(opts: ImageFolderOptions = {}): { size: ImageFolderSize; channels: ImageFolderChannels } {
  const size = opts.size ?? 32;
  const channels = opts.channels ?? 3;
  if (!(IMAGE_FOLDER_SIZES as readonly number[]).includes(size)) {
    throw new RangeError(`image folder size must be one of ${IMAGE_FOLDER_SIZES.join(', ')} px, got ${size}`);
  }
  if (!(IMAGE_FOLDER_CHANNELS as readonly number[]).includes(channels)) {
    throw new RangeError(`image folder channels must be 1 (grey) or 3 (RGB), got ${channels}`);
  }
  return { size, channels };
}

