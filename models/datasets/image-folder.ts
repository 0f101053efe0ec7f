/**
 * Image folder: any folder of PNG, JPEG or WebP files a user points at, as a data set.
 *
 * Every image is decoded with sharp (libvips), turned upright by its EXIF orientation, flattened
 * onto black if it has alpha, resized so that its shorter side is `size` px (Lanczos 3) and
 * centre-cropped to size × size, then kept as grey (1 channel: libvips' b-w, the luminance,
 * gamma-encoded like sRGB) or RGB (3 channels; grey files get three equal channels), as float32
 * in [0, 1], NHWC. Resizing before the crop means the outermost output pixel can carry a trace
 * (Lanczos' reach) of the band that was cropped away.
 *
 * Layout: either image files directly in the folder (unlabelled), or only subfolders, one per
 * class (torchvision's ImageFolder layout: `folder/cat/1.png`, `folder/dog/2.jpg`), which gives
 * labels in the sorted order of the subfolder names. Files whose names start with `.` are skipped
 * (.DS_Store); anything else that is not a .png/.jpg/.jpeg/.webp file is an error.
 *
 * All or nothing: the folder is listed and checked first (count and byte caps, symlinks), then
 * every file is read and decoded; the first bad file rejects the whole load with an Error naming
 * the file, and nothing half-loaded is returned. Bad files: empty (0 bytes), unreadable, contents
 * not PNG/JPEG/WebP whatever the extension (checked by signature before sharp sees the bytes, so
 * sharp's other decoders such as SVG are never reached), corrupt or truncated (sharp fails on
 * libvips warnings), zero-size or smaller than `size` on either side (no upscaling), or larger
 * than IMAGE_FOLDER_MAX_INPUT_PIXELS (decompression bombs).
 *
 * Symlinks are never followed out of the folder: a link whose target resolves outside the
 * folder is an error naming it; a link to a file inside the folder is read like that file.
 * Files are opened with O_NOFOLLOW on their resolved path, so a link swapped in after the check
 * is refused rather than followed.
 */
import { constants as fsConstants } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import sharp from 'sharp';
import type { Dataset } from '../common/family';
import { imageFolderOptions, type ImageFolderChannels, type ImageFolderOptions } from './image-folder-options';
import { splitDataset } from './split';

export * from './image-folder-options';

export const IMAGE_FOLDER_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'] as const;

/** Most image files one folder may hold (10,000 RGB 64-px images are 492 MB of float32). */
export const IMAGE_FOLDER_MAX_FILES = 10_000;
/** Most bytes the image files may hold together, on disk. */
export const IMAGE_FOLDER_MAX_TOTAL_BYTES = 1024 * 1024 * 1024;
/** Most bytes one image file may hold. */
export const IMAGE_FOLDER_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Most pixels (width × height) one image may decode to. */
export const IMAGE_FOLDER_MAX_INPUT_PIXELS = 40_000_000;
/** Images decoded at once (sharp works on libuv's thread pool; the machines have 2 cores). */
const DECODE_CONCURRENCY = 2;
/** Share of the images held out (at least 1 when there are 10 or more). */
export const IMAGE_FOLDER_HELD_OUT_FRACTION = 0.1;
export const IMAGE_FOLDER_SPLIT_SEED = 0x4c52_0004;

/** Caps on a folder's size (lower them for untrusted uploads; tests lower them to reach them). */
export interface ImageFolderLimits {
  /** Default IMAGE_FOLDER_MAX_FILES. */
  maxFiles?: number;
  /** Default IMAGE_FOLDER_MAX_TOTAL_BYTES. */
  maxTotalBytes?: number;
}

interface Entry {
  /** Path as the user would see it: folder + relative name. */
  path: string;
  /** Resolved path, inside the folder. */
  real: string;
  label: number;
}

const SIGNATURES: { format: string; test: (b: Buffer) => boolean }[] = [
  { format: 'png', test: (b) => b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a },
  { format: 'jpeg', test: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { format: 'webp', test: (b) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP' },
];

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !rel.startsWith(sep);
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lists the image files (checked against the caps and the symlink rule), with class labels. */
async function listFolder(folder: string, limits: Required<ImageFolderLimits>): Promise<{ entries: Entry[]; classNames?: string[] }> {
  const { maxFiles, maxTotalBytes } = limits;
  let root: string;
  try {
    root = await realpath(folder);
    if (!(await lstat(root)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new Error(`image folder ${folder}: cannot open it as a folder (${(err as Error).message})`);
  }

  /** Visible names in `dir`, sorted, each classified as a file or a folder (after the symlink check). */
  async function scan(dir: string, shown: string): Promise<{ files: { path: string; real: string }[]; dirs: { name: string; real: string }[] }> {
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort(byCodeUnits);
    const files: { path: string; real: string }[] = [];
    const dirs: { name: string; real: string }[] = [];
    for (const name of names) {
      const path = join(shown, name);
      const st = await lstat(join(dir, name));
      let real = join(dir, name);
      let kind = st;
      if (st.isSymbolicLink()) {
        try {
          real = await realpath(join(dir, name));
        } catch {
          throw new Error(`${path}: a symbolic link whose target cannot be resolved`);
        }
        if (!isInside(root, real)) throw new Error(`${path}: a symbolic link to ${real}, outside the image folder (not followed)`);
        kind = await lstat(real);
      }
      if (kind.isDirectory()) dirs.push({ name, real });
      else if (kind.isFile()) files.push({ path, real });
      else throw new Error(`${path}: not a regular file or folder`);
    }
    return { files, dirs };
  }

  const top = await scan(root, folder);
  const checkExtension = (path: string): void => {
    if (!(IMAGE_FOLDER_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase())) {
      throw new Error(`${path}: unsupported file type (expected ${IMAGE_FOLDER_EXTENSIONS.join(', ')})`);
    }
  };
  let entries: Entry[];
  let classNames: string[] | undefined;
  if (top.dirs.length === 0) {
    top.files.forEach((f) => checkExtension(f.path));
    entries = top.files.map((f) => ({ ...f, label: -1 }));
  } else {
    if (top.files.length > 0) {
      throw new Error(
        `${top.files[0]!.path}: image folder ${folder} mixes files and subfolders; use either image files only, or one subfolder per class holding only image files`,
      );
    }
    classNames = top.dirs.map((d) => d.name);
    entries = [];
    for (const [label, d] of top.dirs.entries()) {
      const sub = await scan(d.real, join(folder, d.name));
      if (sub.dirs.length > 0) throw new Error(`${join(folder, d.name, sub.dirs[0]!.name)}: class folders may not hold folders`);
      if (sub.files.length === 0) throw new Error(`${join(folder, d.name)}: class folder holds no images`);
      sub.files.forEach((f) => checkExtension(f.path));
      for (const f of sub.files) entries.push({ ...f, label });
      if (entries.length > maxFiles) break;
    }
  }
  if (entries.length === 0) throw new Error(`image folder ${folder} holds no images (${IMAGE_FOLDER_EXTENSIONS.join(', ')})`);
  if (entries.length > maxFiles) {
    throw new Error(`image folder ${folder} holds more than ${maxFiles} images (the cap, IMAGE_FOLDER_MAX_FILES by default); use a smaller folder`);
  }
  let total = 0;
  for (const e of entries) {
    const bytes = (await lstat(e.real)).size;
    if (bytes === 0) throw new Error(`${e.path}: empty file (0 bytes)`);
    if (bytes > IMAGE_FOLDER_MAX_FILE_BYTES) {
      throw new Error(`${e.path}: ${bytes} bytes, more than IMAGE_FOLDER_MAX_FILE_BYTES (${IMAGE_FOLDER_MAX_FILE_BYTES})`);
    }
    total += bytes;
    if (total > maxTotalBytes) {
      throw new Error(`image folder ${folder}: the images hold more than ${maxTotalBytes} bytes together (the cap, IMAGE_FOLDER_MAX_TOTAL_BYTES by default); passed at ${e.path}`);
    }
  }
  return classNames ? { entries, classNames } : { entries };
}

async function readCapped(e: Entry): Promise<Buffer> {
  let handle;
  try {
    handle = await open(e.real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    throw new Error(`${e.path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${e.path}: not a regular file`);
    if (st.size === 0) throw new Error(`${e.path}: empty file (0 bytes)`);
    if (st.size > IMAGE_FOLDER_MAX_FILE_BYTES) throw new Error(`${e.path}: more than IMAGE_FOLDER_MAX_FILE_BYTES (${IMAGE_FOLDER_MAX_FILE_BYTES})`);
    // Read the size just checked, not to the end: a file that grows meanwhile stays under the cap
    // (and, cut short, fails to decode).
    const bytes = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(bytes, 0, st.size, 0);
    return bytesRead === st.size ? bytes : bytes.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** One file's pixels, size × size × channels uint8. */
async function decodeOne(e: Entry, size: number, channels: ImageFolderChannels): Promise<Buffer> {
  const bytes = await readCapped(e);
  const format = SIGNATURES.find((s) => s.test(bytes))?.format;
  if (!format) throw new Error(`${e.path}: not a PNG, JPEG or WebP image (unrecognised contents)`);
  const decodeError = (err: unknown): Error => new Error(`${e.path}: cannot load this image (${(err as Error).message.trim()})`);
  const opts = { failOn: 'warning' as const, limitInputPixels: IMAGE_FOLDER_MAX_INPUT_PIXELS };
  const meta = await sharp(bytes, opts).metadata().catch((err: unknown) => {
    throw decodeError(err);
  });
  if (meta.format !== format) throw new Error(`${e.path}: decoded as ${meta.format}, not the ${format} its signature says`);
  // autoOrient holds the size after EXIF rotation (orientations 5-8 swap width and height).
  const w = meta.autoOrient?.width ?? meta.width;
  const h = meta.autoOrient?.height ?? meta.height;
  if (!w || !h) throw new Error(`${e.path}: zero-size image`);
  if (w < size || h < size) throw new Error(`${e.path}: ${w}×${h} px, smaller than ${size} px on a side (images are not upscaled)`);
  let pipe = sharp(bytes, opts)
    .rotate()
    .flatten({ background: '#000000' })
    .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
  pipe = channels === 1 ? pipe.toColourspace('b-w') : pipe.toColourspace('srgb');
  const { data, info } = await pipe
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true })
    .catch((err: unknown) => {
      throw decodeError(err);
    });
  if (info.width !== size || info.height !== size || info.channels !== channels || data.length !== size * size * channels) {
    throw new Error(`${e.path}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×${channels}`);
  }
  return data;
}

/**
 * Every image of `folder` as one data set named `folder:<folder's base name>`, in the sorted order
 * of the file names (class by class for a folder of class folders). Rejects, loading nothing, at
 * the first bad file.
 */
export async function loadImageFolder(folder: string, opts: ImageFolderOptions & ImageFolderLimits = {}): Promise<Dataset> {
  const { size, channels } = imageFolderOptions(opts);
  const { entries, classNames } = await listFolder(folder, {
    maxFiles: opts.maxFiles ?? IMAGE_FOLDER_MAX_FILES,
    maxTotalBytes: opts.maxTotalBytes ?? IMAGE_FOLDER_MAX_TOTAL_BYTES,
  });
  const px = size * size * channels;
  const pixels: Buffer[] = new Array<Buffer>(entries.length);
  let next = 0;
  let failure: Error | undefined;
  async function worker(): Promise<void> {
    while (failure === undefined && next < entries.length) {
      const i = next++;
      try {
        pixels[i] = await decodeOne(entries[i]!, size, channels);
      } catch (err) {
        failure ??= err as Error;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, entries.length) }, worker));
  if (failure) throw failure;

  const images = new Float32Array(entries.length * px);
  for (let i = 0; i < entries.length; i++) {
    const src = pixels[i]!;
    const o = i * px;
    for (let j = 0; j < px; j++) images[o + j] = src[j]! / 255;
  }
  const dataset: Dataset = {
    name: `folder:${basename(folder.replace(/[/\\]+$/, '')) || folder}`,
    imageShape: [size, size, channels],
    count: entries.length,
    images,
  };
  if (classNames) {
    dataset.labels = Int32Array.from(entries, (e) => e.label);
    dataset.numClasses = classNames.length;
    dataset.classNames = classNames;
  }
  return dataset;
}

/**
 * `loadImageFolder` split into training and held-out images: IMAGE_FOLDER_HELD_OUT_FRACTION of
 * them (rounded down) held out by a seeded permutation of the sorted files, so the same folder
 * always splits the same way.
 */
export async function loadImageFolderSplit(
  folder: string,
  opts: ImageFolderOptions & ImageFolderLimits & { splitSeed?: number } = {},
): Promise<{ train: Dataset; heldOut: Dataset }> {
  const all = await loadImageFolder(folder, opts);
  const heldOut = Math.floor(all.count * IMAGE_FOLDER_HELD_OUT_FRACTION);
  return splitDataset(all, heldOut, opts.splitSeed ?? IMAGE_FOLDER_SPLIT_SEED);
}
