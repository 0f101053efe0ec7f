/**
 * Limits of the model import (docs/import.md lists them for users). An upload past any of them is
 * refused with the limit named, before TF.js sees a byte of it.
 *
 * The sizes fit the machines this runs on (2 cores, a few GB shared with training jobs): the
 * largest generator the explorer can stream at interactive rates here is a few million weights,
 * well under MAX_WEIGHT_BYTES.
 */

const MiB = 1024 * 1024;

/** model.json (topology and weight manifest), per model. */
export const MAX_MODEL_JSON_BYTES = 8 * MiB;
/** Nesting of objects and arrays in model.json. Keras topologies nest about 10 deep per model level. */
export const MAX_JSON_DEPTH = 64;
/** Bytes of weights per model, all shards together. */
export const MAX_WEIGHT_BYTES = 64 * MiB;
/** Weight shard files per model. */
export const MAX_SHARDS = 64;
/** Weight entries per model (a layer has one to four). */
export const MAX_WEIGHTS = 4096;
/** Elements of one weight tensor (16 M floats = 64 MiB, the whole budget). */
export const MAX_WEIGHT_ELEMENTS = 16 * 1024 * 1024;
/** Rank of one weight tensor. */
export const MAX_WEIGHT_RANK = 6;
/** Nodes of a graph model, layers of a layers model (nested models count their layers). */
export const MAX_NODES = 4096;

/** Files of one multipart upload (generator and classifier, with their shards). */
export const MAX_UPLOAD_FILES = 2 * (MAX_SHARDS + 1);
/** One uploaded file (a zip holds at most one model's files). */
export const MAX_UPLOAD_FILE_BYTES = MAX_WEIGHT_BYTES + MAX_MODEL_JSON_BYTES;
/** The whole multipart body: a generator and a classifier at their largest, with slack for headers. */
export const MAX_UPLOAD_BYTES = 2 * MAX_UPLOAD_FILE_BYTES + MiB;
/** Text form fields and their size. */
export const MAX_FORM_FIELDS = 32;
export const MAX_FORM_FIELD_BYTES = 4096;

/** Entries of one zip (directories included). */
export const MAX_ZIP_ENTRIES = 256;
/** Uncompressed bytes of all entries of one zip: what the model may hold, no more. */
export const MAX_ZIP_TOTAL_BYTES = MAX_UPLOAD_FILE_BYTES;
/**
 * Largest compression ratio of one entry above ZIP_RATIO_MIN_BYTES. Weights are noise to deflate
 * (about 1.1:1), JSON about 10:1; a thousandfold entry is a bomb, not a model.
 */
export const MAX_ZIP_RATIO = 100;
export const ZIP_RATIO_MIN_BYTES = 64 * 1024;

/** Length of a file name or manifest path, and of one of its segments. */
export const MAX_PATH_LENGTH = 255;
export const MAX_PATH_SEGMENT_LENGTH = 128;

/** Output images: side in pixels. Channels are 1 (grey) or 3 (RGB). */
export const MAX_IMAGE_SIDE = 512;
/** Latent size and number of classes a model may declare. */
export const MAX_LATENT_DIM = 4096;
export const MAX_CLASSES = 1000;

/** Layer config numbers, by key: each value (or each entry of an array value) is an integer at most this. */
export const MAX_CONFIG_VALUE: Readonly<Record<string, number>> = {
  units: 65536,
  filters: 8192,
  input_dim: 65536,
  output_dim: 65536,
  batch_input_shape: 65536,
  batch_shape: 65536,
  input_shape: 65536,
  target_shape: 65536,
  dims: 8,
  n: 4096,
  kernel_size: 32,
  strides: 32,
  dilation_rate: 32,
  pool_size: 32,
  size: 32,
  depth_multiplier: 64,
  padding: 256,
  cropping: 256,
};

/** Wall time of the import job (unzip, checks, load, first sample grid), ms. */
export const IMPORT_TIME_LIMIT_MS = 120_000;
/**
 * Memory of the import job's process (RLIMIT_DATA: heap, typed arrays and the wasm memory, not
 * the reserved-but-untouched address space wasm keeps), bytes.
 */
export const IMPORT_MEMORY_LIMIT_BYTES = 1536 * MiB;
/** V8 heap of the import job's process, MiB (plain objects: the parsed JSON). */
export const IMPORT_HEAP_LIMIT_MB = 512;
/** Imports waiting behind the one that runs; past this a request gets 503. */
export const MAX_QUEUED_IMPORTS = 2;
