/**
 * model.json as untrusted text: capped in bytes, scanned for nesting depth before it is parsed
 * (so a 10 MB run of `[` never reaches a recursive walk), and refused if any key could reach an
 * object's prototype when TF.js copies configs (`__proto__`, `constructor`, `prototype`).
 */
import { badRequest, formatBytes, tooLarge } from './errors';
import { MAX_JSON_DEPTH } from './limits';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deepest nesting of `[`/`{` in `text`, ignoring brackets inside strings; stops past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * Parses `bytes` (UTF-8 JSON) named `file`, with the byte and depth caps; throws 413 for size,
 * 400 for anything else.
 */
export function parseCappedJson(bytes: Uint8Array, file: string, maxBytes: number, maxDepth = MAX_JSON_DEPTH): unknown {
  if (bytes.length > maxBytes) throw tooLarge(`${file} is ${formatBytes(bytes.length)}, more than the ${formatBytes(maxBytes)} limit`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest(`${file} is not UTF-8 text`);
  }
  const depth = jsonDepth(text, maxDepth);
  if (depth > maxDepth) throw badRequest(`${file} nests objects and arrays more than ${maxDepth} deep`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`${file} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const bad = forbiddenKey(value);
  if (bad) throw badRequest(`${file} has a key "${bad}", which is not allowed`);
  return value;
}

/** The first forbidden key anywhere in `value` (iterative: depth is already capped, but cheap). */
function forbiddenKey(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) return key;
      stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
