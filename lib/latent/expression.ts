/**
 * Arithmetic over named latent vectors (bookmarks, directions), pure and shared: the browser
 * turns what a member types into a `sum` op (SPEC O5), the server can evaluate one directly.
 *
 *   "smiling woman" - "neutral woman" + "neutral man"
 *   0.5 * (a + b) - smile / 2
 *
 * Grammar (whitespace ignored):
 *   expr   := term (('+' | '-') term)*
 *   term   := unary (('*' | '/') unary)*
 *   unary  := ('+' | '-') unary | atom
 *   atom   := number | name | '"' quoted name '"' | '(' expr ')'
 *   name   := a letter or _, then letters, digits, _, . or -  (a - b needs its spaces: "a-b" is a name)
 *
 * Only linear expressions mean something for latent vectors: a vector may be scaled by a number
 * or divided by one, and vectors added or subtracted; a product of two vectors, a number added to
 * a vector, a division by a vector or by zero, and an expression that is a plain number are
 * refused with an ExpressionError saying where. So every expression is Σ wᵢ · nameᵢ:
 * `linearTerms` gives those terms (names merged, zero weights dropped), `evaluate` the vector.
 */
import { weightedSum, type Vector } from './vector';

export class ExpressionError extends Error {
  constructor(
    message: string,
    /** Character offset in the source where the problem is. */
    readonly at: number,
  ) {
    super(`${message} (at character ${at + 1})`);
  }
}

/** Longest expression accepted (a room's sum op takes 16 terms; this is generous). */
export const MAX_EXPRESSION_LENGTH = 2000;

type Token =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'name'; value: string; at: number }
  | { kind: 'op'; value: '+' | '-' | '*' | '/' | '(' | ')'; at: number }
  | { kind: 'end'; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ('+-*/()'.includes(c)) {
      tokens.push({ kind: 'op', value: c as '+', at: i });
      i++;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
    if (num) {
      const value = Number(num[0]);
      if (!Number.isFinite(value)) throw new ExpressionError(`number ${num[0]} is not finite`, i);
      tokens.push({ kind: 'number', value, at: i });
      i += num[0].length;
      continue;
    }
    if (c === '"') {
      const end = source.indexOf('"', i + 1);
      if (end < 0) throw new ExpressionError('unclosed quote', i);
      const value = source.slice(i + 1, end);
      if (value.trim() === '') throw new ExpressionError('empty quoted name', i);
      tokens.push({ kind: 'name', value, at: i });
      i = end + 1;
      continue;
    }
    const name = /^[A-Za-z_][\w.-]*/.exec(source.slice(i));
    if (name) {
      tokens.push({ kind: 'name', value: name[0], at: i });
      i += name[0].length;
      continue;
    }
    throw new ExpressionError(`unexpected character ${JSON.stringify(c)}`, i);
  }
  tokens.push({ kind: 'end', at: source.length });
  return tokens;
}

/** A value during parsing: a number, or a linear combination of names. */
type Value = { scalar: number; at: number } | { terms: Map<string, number>; at: number };

function isScalar(v: Value): v is { scalar: number; at: number } {
  return 'scalar' in v;
}

function scaled(v: Value, k: number): Value {
  if (isScalar(v)) return { scalar: v.scalar * k, at: v.at };
  return { terms: new Map([...v.terms].map(([n, w]) => [n, w * k])), at: v.at };
}

function added(a: Value, b: Value, sign: 1 | -1, at: number): Value {
  if (isScalar(a) && isScalar(b)) return { scalar: a.scalar + sign * b.scalar, at: a.at };
  if (isScalar(a) || isScalar(b)) throw new ExpressionError('cannot add a number to a vector', at);
  const terms = new Map(a.terms);
  for (const [n, w] of b.terms) terms.set(n, (terms.get(n) ?? 0) + sign * w);
  return { terms, at: a.at };
}

/** The expression as Σ weight · name, names in order of first appearance, zero weights dropped. */
export function linearTerms(source: string): { name: string; weight: number }[] {
  if (source.length > MAX_EXPRESSION_LENGTH) throw new ExpressionError(`expression longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH);
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos]!;
  const isOp = (t: Token, ...ops: string[]) => t.kind === 'op' && ops.includes(t.value);

  function expr(): Value {
    let left = term();
    while (isOp(peek(), '+', '-')) {
      const op = peek() as Extract<Token, { kind: 'op' }>;
      pos++;
      left = added(left, term(), op.value === '+' ? 1 : -1, op.at);
    }
    return left;
  }

  function term(): Value {
    let left = unary();
    while (isOp(peek(), '*', '/')) {
      const op = peek() as Extract<Token, { kind: 'op' }>;
      pos++;
      const right = unary();
      if (op.value === '*') {
        if (!isScalar(left) && !isScalar(right)) throw new ExpressionError('cannot multiply two vectors', op.at);
        left = isScalar(left) ? scaled(right, left.scalar) : scaled(left, (right as { scalar: number }).scalar);
      } else {
        if (!isScalar(right)) throw new ExpressionError('cannot divide by a vector', op.at);
        if (right.scalar === 0) throw new ExpressionError('division by zero', op.at);
        left = scaled(left, 1 / right.scalar);
      }
    }
    return left;
  }

  function unary(): Value {
    const t = peek();
    if (isOp(t, '+', '-')) {
      pos++;
      const v = unary();
      return (t as Extract<Token, { kind: 'op' }>).value === '-' ? scaled(v, -1) : v;
    }
    return atom();
  }

  function atom(): Value {
    const t = peek();
    pos++;
    if (t.kind === 'number') return { scalar: t.value, at: t.at };
    if (t.kind === 'name') return { terms: new Map([[t.value, 1]]), at: t.at };
    if (t.kind === 'op' && t.value === '(') {
      const inner = expr();
      const close = peek();
      if (!isOp(close, ')')) throw new ExpressionError('expected )', close.at);
      pos++;
      return inner;
    }
    throw new ExpressionError(t.kind === 'end' ? 'unexpected end of expression' : `unexpected ${JSON.stringify(t.value)}`, t.at);
  }

  const value = expr();
  const rest = peek();
  if (rest.kind !== 'end') throw new ExpressionError(`unexpected ${JSON.stringify(rest.value)}`, rest.at);
  if (isScalar(value)) throw new ExpressionError('the expression is a number, not a vector', 0);
  const out: { name: string; weight: number }[] = [];
  for (const [name, weight] of value.terms) {
    if (!Number.isFinite(weight)) throw new ExpressionError(`the weight of ${name} is not finite`, 0);
    if (weight !== 0) out.push({ name, weight });
  }
  return out;
}

/**
 * The vector an expression names: Σ wᵢ · resolve(nameᵢ), every vector `length` long. An unknown
 * name (resolve gives undefined) is an ExpressionError; so is a result that is not finite.
 */
export function evaluate(source: string, resolve: (name: string) => Vector | undefined, length: number): Float32Array {
  const terms = linearTerms(source).map(({ name, weight }) => {
    const vector = resolve(name);
    if (!vector) throw new ExpressionError(`unknown name ${JSON.stringify(name)}`, Math.max(0, source.indexOf(name)));
    if (vector.length !== length) throw new ExpressionError(`${name} has ${vector.length} values, not ${length}`, Math.max(0, source.indexOf(name)));
    return { vector, weight };
  });
  const out = weightedSum(terms, length);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new ExpressionError('the result is not finite in float32', 0);
  }
  return out;
}
