/**
 * The import's multipart reader (server/http/import.ts readMultipart) on hand-built bodies: files
 * by field, text fields, and 413 / 415 / 400 at each limit, with the limit named.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readMultipart, type UploadLimits } from '../../server/http/import';
import { ImportError } from '../../server/import/errors';

const BOUNDARY = 'latentroom-test-boundary';

type Part = { name: string; value: string } | { name: string; filename: string; data: Uint8Array };

function body(parts: Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const head =
      'filename' in p
        ? `Content-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`
        : `Content-Disposition: form-data; name="${p.name}"\r\n\r\n`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\n${head}`), Buffer.from('filename' in p ? p.data : p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

function request(parts: Part[], headers: Record<string, string> = {}): IncomingMessage {
  const data = body(parts);
  const req = Readable.from([data]) as unknown as IncomingMessage;
  req.headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(data.length), ...headers };
  return req;
}

const limits: UploadLimits = { maxBytes: 10_000, maxFileBytes: 4_000, maxFiles: 3 };
const file = (name: string, filename: string, n: number) => ({ name, filename, data: new Uint8Array(n).fill(7) });

async function refusal(p: Promise<unknown>): Promise<ImportError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ImportError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('readMultipart', () => {
  it('gives the files of "model" and "classifier" and the text fields', async () => {
    const out = await readMultipart(
      request([{ name: 'name', value: 'Fashion decoder' }, file('model', 'model.json', 10), file('model', 'weights.bin', 20), file('classifier', 'c.zip', 5), { name: 'outputRange', value: 'sigmoid' }]),
      limits,
    );
    expect(out.model.map((f) => [f.name, f.bytes.length])).toEqual([
      ['model.json', 10],
      ['weights.bin', 20],
    ]);
    expect(out.classifier.map((f) => f.name)).toEqual(['c.zip']);
    expect({ ...out.fields }).toEqual({ name: 'Fashion decoder', outputRange: 'sigmoid' });
  });

  it('skips the empty part a browser sends for a file input left empty', async () => {
    const out = await readMultipart(request([file('model', 'model.json', 10), file('classifier', '', 0), { name: 'outputRange', value: '' }]), limits);
    expect(out.classifier).toEqual([]);
    expect(out.model).toHaveLength(1);
    expect({ ...out.fields }).toEqual({ outputRange: '' });
  });

  it('keeps a path in a file name as sent, for the checks to refuse', async () => {
    const out = await readMultipart(request([file('model', '../../etc/model.json', 3)]), limits);
    expect(out.model[0]!.name).toBe('../../etc/model.json');
  });

  it.each([
    ['not multipart', () => request([], { 'content-type': 'application/json' }), 415, /send the model as multipart\/form-data/],
    ['a declared length over the limit', () => request([], { 'content-length': '20000' }), 413, /the upload is 19\.5 KiB, more than the 9\.8 KiB limit/],
    ['one file over the per-file limit', () => request([file('model', 'weights.bin', 5000)]), 413, /file "weights\.bin" is larger than the 3\.9 KiB limit for one file/],
    ['files over the total', () => request([file('model', 'a', 3500), file('model', 'b', 3500), file('model', 'c', 3500)], { 'content-length': '9000' }), 413, /larger than the 9\.8 KiB limit/],
    ['too many files', () => request([1, 2, 3, 4].map((i) => file('model', `s${i}.bin`, 1))), 413, /more than 3 files in one upload/],
    ['an unknown file field', () => request([file('weights', 'w.bin', 1)]), 400, /unknown file field "weights"/],
    ['a field given twice', () => request([{ name: 'name', value: 'a' }, { name: 'name', value: 'b' }]), 400, /form field "name" is given twice/],
    ['a field over 4 KiB', () => request([{ name: 'source', value: 'x'.repeat(5000) }]), 413, /form field "source" is longer than 4096 bytes/],
  ] as const)('%s is refused', async (_what, make, status, message) => {
    const err = await refusal(readMultipart(make(), limits));
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
  });
});
