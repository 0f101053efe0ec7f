/**
 * File names of an upload and paths of a weight manifest, checked as untrusted text.
 *
 * A name is a relative POSIX path inside the upload, made of segments of plain characters
 * (letters, digits, `_ - . + ( ) @ ,` and space), which is all that TF.js's savers and converter
 * ever write (`model.json`, `./model.weights.bin`, `group1-shard1of3.bin`). Everything else is
 * refused rather than interpreted: `..` and `.` segments, absolute paths, drive letters,
 * backslashes, percent-encoding (`%2e%2e%2f`), URLs and queries, control characters, non-ASCII
 * look-alikes. A manifest path may start with one `./`, as TF.js's browser saver writes it.
 *
 * Names never reach the file system: uploads are held in memory and stored under fixed names
 * (see ./store.ts). These checks keep a manifest from naming anything but a file of the upload.
 */
import { badRequest } from './errors';
import { MAX_PATH_LENGTH, MAX_PATH_SEGMENT_LENGTH } from './limits';

const SEGMENT = /^[A-Za-z0-9_\-.+()@, ]+$/;

/** Why `name` is not a safe relative path, or undefined if it is. */
export function pathProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  // The specific refusals first, so that the message says what was seen.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash (paths use /)';
  if (name.includes('%')) return "contains '%' (percent-encoded names such as %2e%2e are refused)";
  if (name.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(name) || name.includes('?') || name.includes('#')) return 'looks like a URL';
  const segments = name.split('/');
  for (const s of segments) {
    if (s === '') return 'has an empty segment (// or a trailing /)';
    if (/^\.+$/.test(s)) return `has a '${s}' segment`;
    if (s.length > MAX_PATH_SEGMENT_LENGTH) return `has a segment longer than ${MAX_PATH_SEGMENT_LENGTH} characters`;
    if (!SEGMENT.test(s)) return 'has characters other than letters, digits, space and _ - . + ( ) @ ,';
  }
  return undefined;
}

/** Throws a 400 naming `what` (e.g. `file name "a/../b"`) unless `name` is a safe relative path. */
export function checkPath(name: string, what: string): string {
  const problem = pathProblem(name);
  if (problem) throw badRequest(`${what} ${JSON.stringify(name.slice(0, MAX_PATH_LENGTH))} ${problem}`);
  return name;
}

/** Directory part of a checked path (`a/b/model.json` → `a/b`, `model.json` → ``). */
export function dirOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? '' : name.slice(0, i);
}

/**
 * The upload's file that a manifest path names, relative to model.json's directory: the path is
 * checked (after one optional leading `./`), then joined. A checked path has no `..`, so the
 * result stays inside the upload.
 */
export function resolveManifestPath(manifestPath: string, modelJsonDir: string): string {
  const rel = manifestPath.startsWith('./') ? manifestPath.slice(2) : manifestPath;
  checkPath(rel, 'weight path');
  return modelJsonDir ? `${modelJsonDir}/${rel}` : rel;
}
