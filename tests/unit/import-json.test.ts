/**
 * model.json as untrusted text (server/import/json.ts): the depth scan agrees with the real depth
 * (property test over arbitrary JSON), ignores brackets inside strings, and the caps give 413 for
 * size and 400 for depth, bad UTF-8 and prototype keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonDepth, parseCappedJson } from '../../server/import/json';

const enc = (s: string) => new TextEncoder().encode(s);

function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('jsonDepth', () => {
  it('property: equals the nesting depth of the parsed value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        expect(jsonDepth(JSON.stringify(v))).toBe(depthOf(v));
      }),
      { numRuns: 500 },
    );
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepth('{"a": "[[[[{{{{", "b": "\\"[[["}')).toBe(1);
  });

  it('stops early past the limit', () => {
    expect(jsonDepth('['.repeat(1_000_000), 64)).toBe(65);
  });
});

describe('parseCappedJson', () => {
  it('parses a normal model.json', () => {
    expect(parseCappedJson(enc('{"modelTopology": {"a": [1, 2]}}'), 'model.json', 1000)).toEqual({ modelTopology: { a: [1, 2] } });
  });

  it('refuses more bytes than the cap with a 413', () => {
    expect(() => parseCappedJson(enc(' '.repeat(2048)), 'model.json', 1024)).toThrow(expect.objectContaining({ status: 413, message: 'model.json is 2 KiB, more than the 1 KiB limit' }));
  });

  it('refuses deep nesting before parsing', () => {
    expect(() => parseCappedJson(enc(`${'['.repeat(65)}${']'.repeat(65)}`), 'model.json', 1e6)).toThrow(/nests objects and arrays more than 64 deep/);
    expect(() => parseCappedJson(enc(`${'['.repeat(64)}${']'.repeat(64)}`), 'model.json', 1e6)).not.toThrow();
  });

  it('refuses bad UTF-8 and prototype keys', () => {
    expect(() => parseCappedJson(new Uint8Array([0x7b, 0xff, 0x7d]), 'model.json', 100)).toThrow(/is not UTF-8 text/);
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      expect(() => parseCappedJson(enc(`{"a": [{"${key}": {"x": 1}}]}`), 'model.json', 100)).toThrow(`has a key "${key}"`);
    }
  });
});
