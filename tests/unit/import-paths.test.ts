/**
 * Upload names and manifest paths (server/import/paths.ts): what TF.js's savers write passes;
 * every way out of the upload is refused with the reason; and, as a property, any accepted name
 * joined under an upload root stays inside it.
 */
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../server/import/errors';
import { checkPath, pathProblem, resolveManifestPath } from '../../server/import/paths';

describe('names TF.js writes', () => {
  it.each(['model.json', 'weights.bin', 'model.weights.bin', 'group1-shard1of3.bin', 'decoder/model.json', 'my model (1).json', 'a_b-c+d@e,f.bin'])('%s is accepted', (name) => {
    expect(pathProblem(name)).toBeUndefined();
  });

  it('a manifest path may start with one ./ (the browser saver writes ./model.weights.bin)', () => {
    expect(resolveManifestPath('./model.weights.bin', '')).toBe('model.weights.bin');
    expect(resolveManifestPath('group1-shard1of1.bin', 'decoder')).toBe('decoder/group1-shard1of1.bin');
    expect(() => resolveManifestPath('././x.bin', '')).toThrow(/has a '\.' segment/);
  });
});

describe('names that leave the upload', () => {
  it.each([
    ['../weights.bin', /has a '\.\.' segment/],
    ['a/../../weights.bin', /has a '\.\.' segment/],
    ['a/./b', /has a '\.' segment/],
    ['.../x', /has a '\.\.\.' segment/],
    ['/etc/passwd', /is absolute/],
    ['C:/Windows/x', /drive letter/],
    ['c:x', /drive letter/],
    ['..\\..\\x', /backslash/],
    ['%2e%2e/x', /percent-encoded/],
    ['%252e%252e/x', /percent-encoded/],
    ['file:///etc/passwd', /looks like a URL/],
    ['http://example.org/w.bin', /looks like a URL/],
    ['w.bin?x=1', /looks like a URL/],
    ['w.bin#frag', /looks like a URL/],
    ['a//b', /empty segment/],
    ['dir/', /empty segment/],
    ['', /is empty/],
    ['w\u0000.bin', /control character/],
    ['w\n.bin', /control character/],
    ['\u2024\u2024/x', /characters other than/], // one-dot leaders, a look-alike of ..
    ['ａ.bin', /characters other than/], // full-width letter
    ['x'.repeat(300), /longer than 255/],
  ])('%j is refused: %s', (name, reason) => {
    expect(pathProblem(name)).toMatch(reason);
    expect(() => checkPath(name, 'file name')).toThrow(ImportError);
  });

  it('property: an accepted name joined under a root never leaves it', () => {
    const root = '/srv/upload';
    const piece = fc.constantFrom('..', '.', '/', '\\', '%2e', '%2f', 'a', 'b.bin', 'C:', ':', '~', ' ', '\u0000', 'file:', '?', '#');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((xs) => xs.join('')), fc.string({ maxLength: 20 }), (built, random) => {
        for (const name of [built, random]) {
          if (pathProblem(name) !== undefined) continue;
          const full = path.posix.resolve(root, name);
          expect(full.startsWith(`${root}/`)).toBe(true);
          expect(name).not.toMatch(/\\|%|^\/|(^|\/)\.\.?(\/|$)/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
