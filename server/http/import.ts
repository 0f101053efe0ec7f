/**
 * The model import API, served by the custom server:
 *
 *   POST /api/models/import        multipart/form-data →  201 { ok: true, model: <card> }
 *        file fields   `model`       model.json and its weight files, or one .zip holding them
 *                      `classifier`  optional attribute classifier, same forms
 *        text fields   name, id, latentDim, outputRange, layout, imageShape, channelOrder,
 *                      numClasses, classInput, classNames, latentInput, dataset,
 *                      classifierLabels, source (server/import/options.ts)
 *   GET  /api/models/:id/samples.png  the first sample grid of an imported model
 *
 * Errors are `{ ok: false, error }` with 400 (refused input, with the reason), 409 (id taken),
 * 413 (a size limit), 415 (not multipart, or a file that is not a model), 422 (the model does not
 * work as a generator), 503 (imports queued). The body is streamed with busboy under the limits of
 * server/import/limits.ts and held in memory; nothing of it touches the disk until the import job
 * has validated it, and then only under fixed names.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import { formatBytes, ImportError } from '../import/errors';
import { MAX_FORM_FIELD_BYTES, MAX_FORM_FIELDS, MAX_UPLOAD_BYTES, MAX_UPLOAD_FILE_BYTES, MAX_UPLOAD_FILES } from '../import/limits';
import type { ImportService } from '../import/service';
import type { ImportJobInput } from '../import/check';
import { methodNotAllowed, sendJson } from './respond';

export const IMPORT_API = '/api/models/import';
const SAMPLES = /^\/api\/models\/([a-z0-9][a-z0-9-]{0,62})\/samples\.png$/;
const FILE_FIELDS = ['model', 'classifier'] as const;

export interface UploadLimits {
  maxBytes: number;
  maxFileBytes: number;
  maxFiles: number;
}

const DEFAULT_LIMITS: UploadLimits = { maxBytes: MAX_UPLOAD_BYTES, maxFileBytes: MAX_UPLOAD_FILE_BYTES, maxFiles: MAX_UPLOAD_FILES };

/** The multipart body as files by field and text fields; ImportError (413/415/400) past a limit. */
export function readMultipart(req: IncomingMessage, limits: UploadLimits = DEFAULT_LIMITS): Promise<ImportJobInput> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\b/i.test(type)) {
    return Promise.reject(new ImportError(415, 'send the model as multipart/form-data: files in the field "model" (model.json and weight files, or one .zip), options as text fields'));
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    return Promise.reject(new ImportError(413, `the upload is ${formatBytes(declared)}, more than the ${formatBytes(limits.maxBytes)} limit`));
  }
  return new Promise<ImportJobInput>((resolve, reject) => {
    const out: ImportJobInput = { model: [], classifier: [], fields: Object.create(null) as Record<string, string> };
    let total = 0;
    let failed = false;
    let pending = 0;
    let finished = false;
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        preservePath: true, // the raw name, so that a path in it is refused, not silently cut
        limits: {
          fileSize: limits.maxFileBytes,
          files: limits.maxFiles,
          fields: MAX_FORM_FIELDS,
          fieldSize: MAX_FORM_FIELD_BYTES,
          fieldNameSize: 64,
          parts: limits.maxFiles + MAX_FORM_FIELDS,
          headerPairs: 16,
        },
      });
    } catch (err) {
      reject(new ImportError(400, `the multipart body cannot be read: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    const fail = (err: ImportError) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume(); // drain, so that the response can be sent
      reject(err);
    };
    const maybeDone = () => {
      if (finished && pending === 0 && !failed) resolve(out);
    };
    bb.on('file', (field, stream, info) => {
      if (!(FILE_FIELDS as readonly string[]).includes(field)) {
        stream.resume();
        fail(new ImportError(400, `unknown file field ${JSON.stringify(field.slice(0, 64))}: files go in "model" or "classifier"`));
        return;
      }
      pending++;
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        total += chunk.length;
        if (total > limits.maxBytes) fail(new ImportError(413, `the upload is larger than the ${formatBytes(limits.maxBytes)} limit`));
        else if (!failed) chunks.push(chunk);
      });
      stream.on('limit', () => fail(new ImportError(413, `file ${JSON.stringify(info.filename ?? '')} is larger than the ${formatBytes(limits.maxFileBytes)} limit for one file`)));
      stream.on('end', () => {
        pending--;
        // A browser sends an empty part for a file input left empty: not a file.
        if (!failed && !(size === 0 && !info.filename)) {
          const bytes = Buffer.concat(chunks, size);
          out[field as (typeof FILE_FIELDS)[number]].push({ name: info.filename ?? '', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
        }
        maybeDone();
      });
    });
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(new ImportError(413, `form field ${JSON.stringify(name.slice(0, 64))} is longer than ${MAX_FORM_FIELD_BYTES} bytes`));
        return;
      }
      if (name in out.fields) {
        fail(new ImportError(400, `form field ${JSON.stringify(name)} is given twice`));
        return;
      }
      out.fields[name] = value;
    });
    bb.on('filesLimit', () => fail(new ImportError(413, `more than ${limits.maxFiles} files in one upload`)));
    bb.on('fieldsLimit', () => fail(new ImportError(413, `more than ${MAX_FORM_FIELDS} form fields`)));
    bb.on('partsLimit', () => fail(new ImportError(413, 'too many parts in the multipart body')));
    bb.on('error', (err) => fail(new ImportError(400, `the multipart body cannot be read: ${err instanceof Error ? err.message : String(err)}`)));
    bb.on('close', () => {
      finished = true;
      maybeDone();
    });
    req.on('aborted', () => fail(new ImportError(400, 'the upload was interrupted')));
    req.pipe(bb);
  });
}

/** Handles `path` if it belongs to the import API; false otherwise. */
export async function handleImportApi(req: IncomingMessage, res: ServerResponse, path: string, imports: ImportService): Promise<boolean> {
  if (path === IMPORT_API) {
    if (req.method !== 'POST') return (methodNotAllowed(res, 'POST'), true);
    try {
      const upload = await readMultipart(req);
      const model = await imports.import(upload);
      sendJson(res, 201, { ok: true, model });
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      if (err.status === 413 || err.status === 415) res.setHeader('connection', 'close');
      sendJson(res, err.status, { ok: false, error: err.message });
    }
    return true;
  }
  const m = SAMPLES.exec(path);
  if (m) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return (methodNotAllowed(res, 'GET'), true);
    const png = await imports.samples(m[1]!);
    if (!png) {
      sendJson(res, 404, { ok: false, error: 'no sample grid for this model' });
      return true;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'content-length': png.length });
    res.end(req.method === 'HEAD' ? undefined : png);
    return true;
  }
  return false;
}
