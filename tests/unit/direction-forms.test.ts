/**
 * The room's discovery and steer forms (components/room/direction-forms.ts): fields and defaults
 * come from the protocol's schemas, every request they build is one the server's schema accepts,
 * and bad values are refused by field before anything is sent (SPEC D1, D7).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIRECTION_METHODS, DirectionDiscoverRequestSchema, DirectionSteerRequestSchema, MAX_COMPONENTS, type DirectionMethod } from '../../lib/protocol/directions';
import {
  buildDiscoverRequest,
  buildSteerRequest,
  initialSteerValues,
  initialValues,
  methodAvailability,
  methodFields,
  scoreBadges,
  type FormValues,
} from '../../components/room/direction-forms';

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const ID = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

describe('methodFields', () => {
  it('reads bounds and defaults off the schemas, with a label for every parameter', () => {
    const sefa = methodFields('sefa');
    expect(sefa.find((f) => f.key === 'params.components')).toMatchObject({ kind: 'integer', min: 1, max: MAX_COMPONENTS, initial: '5', optional: true });
    const lb = methodFields('linear-boundary');
    expect(lb.find((f) => f.key === 'params.attribute')).toMatchObject({ kind: 'attribute', optional: false });
    expect(lb.find((f) => f.key === 'params.extremes')).toMatchObject({ kind: 'number', optional: true, initial: '', min: 0, minExclusive: true, max: 0.5 });
    expect(lb.find((f) => f.key === 'params.lambda')?.initial).toBe('0.001');
    expect(methodFields('pca').find((f) => f.key === 'params.source')).toMatchObject({ kind: 'choice', options: ['activations', 'encoded'], initial: 'activations' });
    expect(methodFields('centroid-difference').find((f) => f.key === 'params.positive')).toMatchObject({ kind: 'bookmarks', maxItems: 32, initial: [] });
    expect(methodFields('conditional').map((f) => f.kind)).toEqual(['direction', 'directions', 'text', 'integer', 'number']);
    for (const m of DIRECTION_METHODS) {
      for (const f of methodFields(m)) {
        expect(f.label, `${m} ${f.key}`).not.toBe(f.key.split('.').pop());
        expect(f.hint, `${m} ${f.key}`).not.toBe('');
      }
    }
  });

  it("the defaults of the methods without ids or attributes are a request as they stand; with an attribute, the first one", () => {
    for (const m of ['pca', 'sefa'] as const) {
      const built = buildDiscoverRequest(m, initialValues(m));
      expect(built.ok).toBe(true);
    }
    const cg = buildDiscoverRequest('classifier-gradient', initialValues('classifier-gradient', DIGITS));
    expect(cg).toEqual({ ok: true, request: { method: 'classifier-gradient', params: { attribute: '0', samples: 256, seed: 1 }, scoring: { samples: 64, span: 2, seed: 7 } } });
    // No attribute offered: the form says so instead of sending.
    expect(buildDiscoverRequest('linear-boundary', initialValues('linear-boundary'))).toEqual({ ok: false, errors: { 'params.attribute': 'required' } });
  });
});

describe('buildDiscoverRequest', () => {
  it('fills what is typed, leaves empty optional fields to the server and trims the name', () => {
    const values: FormValues = { ...initialValues('linear-boundary', DIGITS), 'params.attribute': '7', 'params.samples': ' 300 ', 'params.extremes': '0.1', name: '  sevens ', 'scoring.samples': '8' };
    const built = buildDiscoverRequest('linear-boundary', values);
    expect(built).toEqual({
      ok: true,
      request: { method: 'linear-boundary', name: 'sevens', params: { attribute: '7', samples: 300, extremes: 0.1, heldOut: 0.2, lambda: 0.001, seed: 1 }, scoring: { samples: 8, span: 2, seed: 7 } },
    });
    const noExtremes = buildDiscoverRequest('linear-boundary', { ...values, 'params.extremes': '' });
    expect(noExtremes.ok && 'extremes' in (noExtremes.request.params ?? {})).toBe(false);
    expect(noExtremes.ok).toBe(true);
  });

  it('refuses bad numbers by field: out of range, not whole, not finite, not a number', () => {
    const base = initialValues('sefa');
    const errors = (v: FormValues) => {
      const b = buildDiscoverRequest('sefa', { ...base, ...v });
      return b.ok ? {} : b.errors;
    };
    expect(errors({ 'params.components': '0' })).toEqual({ 'params.components': 'at least 1' });
    expect(errors({ 'params.components': '21' })).toEqual({ 'params.components': 'at most 20' });
    expect(errors({ 'params.components': '2.5' })).toEqual({ 'params.components': 'a whole number' });
    expect(errors({ 'params.components': 'Infinity' })).toEqual({ 'params.components': 'a finite number' });
    expect(errors({ 'params.components': 'NaN' })).toEqual({ 'params.components': 'a finite number' });
    expect(errors({ 'params.components': 'five' })).toEqual({ 'params.components': 'a finite number' });
    expect(errors({ 'scoring.span': '0' })).toEqual({ 'scoring.span': 'more than 0' });
    expect(errors({ name: 'x'.repeat(61) })).toHaveProperty('name');
    // More components than the latent space has dimensions (the server refuses it too).
    expect(buildDiscoverRequest('sefa', { ...base, 'params.components': '20' }, { latentDim: 16 })).toEqual({ ok: false, errors: { 'params.components': 'at most 16 in this 16-dimensional latent space' } });
  });

  it('centroid groups and conditional directions: at least one id each, a direction not orthogonal to itself', () => {
    const empty = buildDiscoverRequest('centroid-difference', initialValues('centroid-difference'));
    expect(empty).toEqual({ ok: false, errors: { 'params.positive': 'pick at least 1', 'params.negative': 'pick at least 1' } });
    const ok = buildDiscoverRequest('centroid-difference', { ...initialValues('centroid-difference'), 'params.positive': [ID(1), ID(2)], 'params.negative': [ID(3)] });
    expect(ok.ok && ok.request.params).toEqual({ positive: [ID(1), ID(2)], negative: [ID(3)] });
    const self = buildDiscoverRequest('conditional', { ...initialValues('conditional'), 'params.direction': ID(1), 'params.conditions': [ID(1), ID(2)] });
    expect(self).toEqual({ ok: false, errors: { 'params.conditions': 'a direction cannot be orthogonal to itself' } });
    const none = buildDiscoverRequest('conditional', { ...initialValues('conditional'), 'params.conditions': [ID(2)] });
    expect(none).toEqual({ ok: false, errors: { 'params.direction': 'required' } });
  });

  it('property: whatever is typed, a request it builds is one the protocol schema accepts', () => {
    const text = fc.oneof(fc.constantFrom('', ' ', '0', '1', '-1', '5', '0.5', '1e3', '1e999', 'NaN', 'abc', '20000', '64'), fc.string({ maxLength: 8 }));
    const ids = fc.array(fc.constantFrom(ID(1), ID(2), ID(3), 'not-an-id'), { maxLength: 3 });
    fc.assert(
      fc.property(fc.constantFrom(...DIRECTION_METHODS), text, text, ids, ids, (method: DirectionMethod, a, b, p, q) => {
        const values: FormValues = { ...initialValues(method, DIGITS) };
        for (const [i, f] of methodFields(method).entries()) {
          if (f.kind === 'bookmarks' || f.kind === 'directions') values[f.key] = i % 2 ? p : q;
          else values[f.key] = i % 2 ? a : b;
        }
        const built = buildDiscoverRequest(method, values);
        if (built.ok) expect(DirectionDiscoverRequestSchema.safeParse(built.request).success).toBe(true);
        else expect(Object.keys(built.errors).length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });
});

describe('methodAvailability', () => {
  const mnist = { attributes: DIGITS, family: 'dcgan', bookmarks: 0, directions: 0 };
  it('says why a method cannot run on this model or room', () => {
    expect(methodAvailability('sefa', mnist)).toBeNull();
    expect(methodAvailability('classifier-gradient', mnist)).toBeNull();
    expect(methodAvailability('linear-boundary', { ...mnist, attributes: [] })).toMatch(/classifier/);
    expect(methodAvailability('sefa', { ...mnist, family: 'imported' })).toMatch(/first layer/);
    expect(methodAvailability('centroid-difference', { ...mnist, bookmarks: 1 })).toMatch(/two bookmarks/);
    expect(methodAvailability('centroid-difference', { ...mnist, bookmarks: 2 })).toBeNull();
    expect(methodAvailability('conditional', { ...mnist, directions: 1 })).toMatch(/two stored directions/);
  });
});

describe('buildSteerRequest', () => {
  it('defaults from the schema; toward or away; bad values refused by field', () => {
    expect(buildSteerRequest(initialSteerValues(DIGITS))).toEqual({ ok: true, request: { attribute: '0', steps: 60, stepSize: 0.15, sign: 1 } });
    expect(buildSteerRequest({ ...initialSteerValues(DIGITS), attribute: '7', steps: '', sign: '-1' })).toEqual({ ok: true, request: { attribute: '7', steps: 60, stepSize: 0.15, sign: -1 } });
    expect(buildSteerRequest(initialSteerValues([]))).toEqual({ ok: false, errors: { attribute: 'required' } });
    expect(buildSteerRequest({ ...initialSteerValues(DIGITS), steps: '201' })).toEqual({ ok: false, errors: { steps: 'at most 200' } });
    expect(buildSteerRequest({ ...initialSteerValues(DIGITS), stepSize: '-1' })).toEqual({ ok: false, errors: { stepSize: 'more than 0' } });
    expect(buildSteerRequest({ ...initialSteerValues(DIGITS), sign: '2' }).ok).toBe(false);
    const built = buildSteerRequest({ ...initialSteerValues(DIGITS), steps: '12' });
    expect(built.ok && DirectionSteerRequestSchema.safeParse(built.request).success).toBe(true);
  });
});

describe('scoreBadges', () => {
  it('shows the target, its flip rate, the most entangled other attribute and the held-out accuracy, each with what it means', () => {
    const badges = scoreBadges({ target: '7', samples: 64, span: 2, flipRate: { '7': 0.625, '1': 0.1 }, entanglement: { '1': 0.2, '4': -0.45, '7': 1 }, heldOutAccuracy: 0.93 });
    expect(badges.map((b) => b.text)).toEqual(['→ 7', 'flip 63%', 'entangled 4 −0.45', 'held-out 93%']);
    expect(badges.find((b) => b.key === 'flip')!.title).toMatch(/64 sampled latents.*±2/);
    for (const b of badges) expect(b.title.length).toBeGreaterThan(10);
  });

  it('uses the dominant attribute when there is no target; the method figure when nothing else; nothing without scores', () => {
    expect(scoreBadges({ dominant: '1', flipRate: { '1': 0.2 } }).map((b) => b.text)).toEqual(['→ 1', 'flip 20%']);
    expect(scoreBadges({ method: { note: 'x', eigenvalue: 12.5 } }).map((b) => b.text)).toEqual(['eigenvalue 12.50']);
    expect(scoreBadges({})).toEqual([]);
    expect(scoreBadges(undefined)).toEqual([]);
  });
});
