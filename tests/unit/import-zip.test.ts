/**
 * Zip uploads (server/import/zip.ts), read in memory with every entry checked: good zips give
 * their files; each hostile construction is refused with its reason before (or while) inflating.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../server/import/errors';
import { readZip, type ZipLimits } from '../../server/import/zip';
import { makeZip } from '../fixtures/import/zip-writer';

const enc = (s: string) => new TextEncoder().encode(s);
const small: ZipLimits = { maxEntries: 8, maxEntryBytes: 1024 * 1024, maxTotalBytes: 2 * 1024 * 1024, maxRatio: 100, ratioMinBytes: 64 * 1024 };

async function refusal(zip: Uint8Array, limits = small): Promise<ImportError> {
  try {
    await readZip(zip, 'm.zip', limits);
  } catch (err) {
    if (err instanceof ImportError) return err;
    throw err;
  }
  throw new Error('the zip was read');
}

describe('readZip', () => {
  it('gives the regular files by path, stored or deflated, skipping directories', async () => {
    const weights = randomBytes(5000);
    const files = await readZip(
      makeZip([
        { name: 'decoder/', mode: 0o040755 },
        { name: 'decoder/model.json', data: enc('{"a":1}') },
        { name: 'decoder/weights.bin', data: weights, method: 'store' },
      ]),
      'm.zip',
      small,
    );
    expect([...files.keys()]).toEqual(['decoder/model.json', 'decoder/weights.bin']);
    expect(Buffer.from(files.get('decoder/weights.bin')!)).toEqual(weights);
  });

  it.each([
    ['zip-slip', [{ name: '../../etc/cron.d/x', data: enc('x') }], 400, /entry "\.\.\/\.\.\/etc\/cron\.d\/x" has a '\.\.' segment/],
    ['absolute', [{ name: '/tmp/x', data: enc('x') }], 400, /is absolute/],
    ['backslash', [{ name: 'a\\..\\..\\x', data: enc('x') }], 400, /backslash/],
    ['symlink', [{ name: 'weights.bin', data: enc('/etc/passwd'), mode: 0o120777 }], 400, /is a symbolic link/],
    ['symlinked directory', [{ name: 'dir/', data: enc('/etc'), mode: 0o120777 }], 400, /is a symbolic link/],
    ['FIFO', [{ name: 'fifo', mode: 0o010644 }], 400, /is not a regular file/],
    ['duplicate', [{ name: 'a.bin', data: enc('1') }, { name: 'a.bin', data: enc('2') }], 400, /appears twice/],
    ['Unicode path field', [{ name: 'ok.bin', data: enc('1'), unicodeName: '../evil' }], 400, /second name "\.\.\/evil"/],
    ['encrypted', [{ name: 'a.bin', data: enc('1'), encrypted: true }], 415, /is encrypted/],
    ['bomb by ratio', [{ name: 'zeros.bin', data: new Uint8Array(1024 * 1024) }], 413, /inflates \d+:1 .*zip bomb/],
    ['bomb by total', [1, 2, 3].map((i) => ({ name: `p${i}.bin`, data: randomBytes(20_000), declaredSize: 900 * 1024 })), 413, /inflates to more than 2 MiB in total/],
    ['one entry too large', [{ name: 'big.bin', data: randomBytes(20_000), declaredSize: 1.5 * 1024 * 1024 }], 413, /inflates to 1\.5 MiB, more than the 1 MiB allowed for one file/],
    ['too many entries', Array.from({ length: 9 }, (_, i) => ({ name: `f${i}`, data: enc('x') })), 413, /has 9 entries, more than the 8 allowed/],
  ] as const)('%s is refused', async (_what, entries, status, message) => {
    const err = await refusal(makeZip(entries));
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
  });

  it('an entry that inflates past its declared size is stopped', async () => {
    const err = await refusal(makeZip([{ name: 'liar.bin', data: randomBytes(50_000), declaredSize: 10_000 }]));
    expect(err.message).toMatch(/liar\.bin.*(inflates past its declared|too many bytes)/);
  });

  it('an entry whose bytes fail the CRC is refused', async () => {
    const zip = makeZip([{ name: 'a.bin', data: enc('hello world'), method: 'store' }]);
    const at = 30 + 'a.bin'.length; // first data byte of the only entry
    zip[at] = zip[at]! ^ 0xff;
    expect((await refusal(zip)).message).toMatch(/fails its CRC-32 check/);
  });

  it('bytes that are not a zip are a 415', async () => {
    const err = await refusal(enc('PK\u0003\u0004 but nothing else'));
    expect(err.status).toBe(415);
  });
});
