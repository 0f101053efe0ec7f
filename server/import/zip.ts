/**
 * A zip upload, read in memory (yauzl) with every entry checked before its bytes are used. Nothing
 * is ever extracted to disk, by entry name or otherwise.
 *
 * Refused (the whole upload, even for an entry the model would not use):
 *   - names that are not safe relative paths (./paths.ts: zip-slip `../`, absolute, backslash,
 *     percent-encoded, drive letters), or whose Unicode-path extra field names something else;
 *   - symbolic links and other non-regular entries (devices, FIFOs), by their Unix mode;
 *   - encrypted entries, compression other than stored or deflate, duplicate names;
 *   - more than MAX_ZIP_ENTRIES entries, an entry larger than the per-file limit, declared
 *     uncompressed sizes above MAX_ZIP_TOTAL_BYTES in total, or an entry above
 *     ZIP_RATIO_MIN_BYTES that inflates more than MAX_ZIP_RATIO times (zip bombs): judged on the
 *     central directory's sizes before anything is inflated;
 *   - an entry whose inflated bytes exceed its declared size (yauzl stops the stream) or whose
 *     CRC-32 differs from the declared one.
 */
import { crc32 } from 'node:zlib';
import yauzl, { type Entry } from 'yauzl';
import { badRequest, formatBytes, ImportError, tooLarge, unsupported } from './errors';
import { MAX_UPLOAD_FILE_BYTES, MAX_ZIP_ENTRIES, MAX_ZIP_RATIO, MAX_ZIP_TOTAL_BYTES, ZIP_RATIO_MIN_BYTES } from './limits';
import { checkPath } from './paths';

export interface ZipLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
  maxRatio: number;
  ratioMinBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: MAX_ZIP_ENTRIES,
  maxEntryBytes: MAX_UPLOAD_FILE_BYTES,
  maxTotalBytes: MAX_ZIP_TOTAL_BYTES,
  maxRatio: MAX_ZIP_RATIO,
  ratioMinBytes: ZIP_RATIO_MIN_BYTES,
};

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** versionMadeBy's high byte for Unix: only then do the external attributes carry a mode. */
const MADE_BY_UNIX = 3;
const UNICODE_PATH_FIELD = 0x7075;

/** "PK\x03\x04" (a zip's first local header) or "PK\x05\x06" (an empty zip). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

function entryName(entry: Entry, zipName: string): string {
  const raw = entry.fileNameRaw;
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw badRequest(`${zipName}: an entry name is not UTF-8 text`);
  }
  for (const field of entry.extraFields) {
    if (field.id !== UNICODE_PATH_FIELD || field.data.length < 6) continue;
    const other = field.data.subarray(5).toString('utf8');
    if (other !== name) {
      throw badRequest(`${zipName}: entry ${JSON.stringify(name)} carries a second name ${JSON.stringify(other.slice(0, 255))} in its Unicode path field`);
    }
  }
  return name;
}

/** The kind of an entry from its Unix mode (when the zip was made on Unix) or its trailing slash. */
function entryKind(entry: Entry, name: string): 'file' | 'dir' | 'link' | 'other' {
  if ((entry.versionMadeBy >>> 8) === MADE_BY_UNIX) {
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (mode === S_IFLNK) return 'link';
    if (mode === S_IFDIR) return 'dir';
    if (mode !== 0 && mode !== S_IFREG) return 'other';
  }
  return name.endsWith('/') ? 'dir' : 'file';
}

/**
 * The regular files of the zip `bytes` (named `zipName` in messages), by checked path.
 * Directory entries are skipped.
 */
export async function readZip(bytes: Uint8Array, zipName: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<Map<string, Uint8Array>> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      strictFileNames: true,
    });
  } catch (err) {
    throw unsupported(`${zipName} is not a readable zip file (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    return await readEntries(zip, zipName, limits);
  } catch (err) {
    if (err instanceof ImportError) throw err;
    // yauzl's own refusals (a stored entry whose sizes differ, a truncated central directory...)
    throw badRequest(`${zipName}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    zip.close();
  }
}

async function readEntries(zip: yauzl.ZipFile, zipName: string, limits: ZipLimits): Promise<Map<string, Uint8Array>> {
  if (zip.entryCount > limits.maxEntries) {
    throw tooLarge(`${zipName} has ${zip.entryCount} entries, more than the ${limits.maxEntries} allowed`);
  }
  // First pass: every entry's name, kind and declared sizes, before any byte is inflated.
  const entries: { name: string; entry: Entry }[] = [];
  const seen = new Set<string>();
  let declaredTotal = 0;
  for await (const entry of zip.eachEntry()) {
    const raw = entryName(entry, zipName);
    const kind = entryKind(entry, raw);
    const name = raw.endsWith('/') ? raw.slice(0, -1) : raw;
    checkPath(name, `${zipName}: entry`);
    if (kind === 'link') throw badRequest(`${zipName}: entry ${JSON.stringify(name)} is a symbolic link; links are refused`);
    if (kind === 'other') throw badRequest(`${zipName}: entry ${JSON.stringify(name)} is not a regular file`);
    if (seen.has(name)) throw badRequest(`${zipName}: entry ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    if (kind === 'dir') continue;
    if (entry.isEncrypted()) throw unsupported(`${zipName}: entry ${JSON.stringify(name)} is encrypted`);
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw unsupported(`${zipName}: entry ${JSON.stringify(name)} uses compression method ${entry.compressionMethod} (only stored and deflate are read)`);
    }
    const size = entry.uncompressedSize;
    if (size > limits.maxEntryBytes) {
      throw tooLarge(`${zipName}: entry ${JSON.stringify(name)} inflates to ${formatBytes(size)}, more than the ${formatBytes(limits.maxEntryBytes)} allowed for one file`);
    }
    if (size > limits.ratioMinBytes && size > limits.maxRatio * Math.max(entry.compressedSize, 1)) {
      const ratio = Math.round(size / Math.max(entry.compressedSize, 1));
      throw tooLarge(`${zipName}: entry ${JSON.stringify(name)} inflates ${ratio}:1 (${formatBytes(entry.compressedSize)} to ${formatBytes(size)}), more than the ${limits.maxRatio}:1 a model file can have: a zip bomb?`);
    }
    declaredTotal += size;
    if (declaredTotal > limits.maxTotalBytes) {
      throw tooLarge(`${zipName} inflates to more than ${formatBytes(limits.maxTotalBytes)} in total`);
    }
    entries.push({ name, entry });
  }

  // Second pass: inflate, counting bytes against the declared size (yauzl also stops a stream
  // that runs past it) and checking the CRC-32.
  const files = new Map<string, Uint8Array>();
  for (const { name, entry } of entries) {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    let got = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        got += chunk.length;
        if (got > entry.uncompressedSize) throw tooLarge(`${zipName}: entry ${JSON.stringify(name)} inflates past its declared ${formatBytes(entry.uncompressedSize)}`);
        chunks.push(chunk);
      }
    } catch (err) {
      stream.destroy();
      if (err instanceof ImportError) throw err;
      throw badRequest(`${zipName}: entry ${JSON.stringify(name)} could not be read (${err instanceof Error ? err.message : String(err)})`);
    }
    const data = Buffer.concat(chunks, got);
    if (crc32(data) !== entry.crc32) throw badRequest(`${zipName}: entry ${JSON.stringify(name)} fails its CRC-32 check`);
    files.set(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return files;
}
