/**
 * The one error type of the import: a message for the user and the HTTP status it maps to.
 *
 *   400  the upload is malformed or refused (bad path, bad manifest, unknown layer, bad option)
 *   409  the model id is taken
 *   413  a size limit is exceeded (file, total, zip, weights, JSON, shard count)
 *   415  the request or a file is not of a type the import reads
 *   422  the files are well-formed but the model does not work as a generator (wrong output
 *        shape, NaN output, it does not load, it ran out of time or memory)
 *   503  too many imports are waiting
 */
export type ImportErrorStatus = 400 | 409 | 413 | 415 | 422 | 503;

export class ImportError extends Error {
  constructor(
    readonly status: ImportErrorStatus,
    message: string,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

export const badRequest = (message: string) => new ImportError(400, message);
export const tooLarge = (message: string) => new ImportError(413, message);
export const unsupported = (message: string) => new ImportError(415, message);
export const unusable = (message: string) => new ImportError(422, message);

/** `1234567` → `1.2 MiB`, for limits in messages. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
}

/** Messages of a failed allocation: V8's, TF.js's, and the wasm backend's. */
export function isMemoryError(message: string): boolean {
  return /allocation failed|out of memory|Invalid (typed )?array (buffer )?length|Array buffer|memory access out of bounds|Cannot enlarge memory|Aborted\(/i.test(message);
}
