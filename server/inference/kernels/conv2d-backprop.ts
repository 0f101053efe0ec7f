/**
 * Conv2DBackpropFilter and Conv2DBackpropInput for the wasm backend.
 *
 * `Conv2DBackpropFilter` is missing from the stock wasm backend (training any conv layer fails)
 * and its `Conv2DBackpropInput`, which is also the forward pass of every transposed convolution,
 * is a naive loop about 10× slower than conv2d for the same work. Both are rewritten here in
 * terms of XNNPACK's forward convolution, the fastest kernel the backend has (measured on the
 * DCGAN's largest layer: conv2d 37 ms against 47-55 ms for a matMul of the same size):
 *
 * Filter gradient as a convolution with batch and channels swapped. With x: [B, H, W, Ci],
 * dy: [B, Oh, Ow, Co] and stride s,
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, s·oh + kh − top, s·ow + kw − left, ci] · dy[b, oh, ow, co]
 * is conv2d(x' = x as [Ci, H, W, B], f = dy as [Oh, Ow, B, Co], stride 1, dilation s) read as
 * [Ci, Kh, Kw, Co] and transposed to [Kh, Kw, Ci, Co].
 *
 * Input gradient (transposed convolution) by output phase (sub-pixel decomposition). Output row
 * y = s·q + p receives only the taps kh ≡ p + top (mod s), so each of the s² phases is an
 * ordinary stride-1 convolution of dy with a flipped sub-kernel of W (channels swapped), and the
 * phases are interleaved into dx. Same multiply-adds as the transposed convolution, none wasted
 * on inserted zeros.
 *
 * Where a fast path would need negative padding (valid padding whose sizes do not divide by the
 * stride), and for the input gradient of a layer with few input channels (where XNNPACK's conv is
 * slow), the kernels use im2col / col2im around XNNPACK's plain matMul:
 *
 * For a convolution y = conv2d(x, W) with x: [B, H, W, Ci], W: [Kh, Kw, Ci, Co], y: [B, Oh, Ow, Co]
 * and N = B·Oh·Ow output positions, let cols(x): [N, Kh·Kw·Ci] hold the input patch under each
 * output position (im2col). Then
 *
 *   y              = cols(x) · W₂           with W₂ = W reshaped to [Kh·Kw·Ci, Co]
 *   ∂L/∂W₂         = cols(x)ᵀ · dy₂         = (dy₂ᵀ · cols(x))ᵀ,   dy₂: [N, Co]
 *   ∂L/∂x          = col2im(dy₂ · W₂ᵀ)      (scatter-add each patch row back to its pixels)
 *
 * The transposes are of the small operands only (dy₂ and W₂, never cols), so the matMuls stay on
 * XNNPACK's untransposed fast path. im2col and col2im read and write the wasm heap directly.
 */
import {
  backend_util,
  registerKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { conv2dMacs, withBatchSplit } from './batch-split';
import { dispose, heapF32, matMul2d, transpose2d, view, wasmKernel, type BackendWasm } from './wasm-util';

type ConvInfo = backend_util.Conv2DInfo;

/** Below this many input channels the transposed conv goes through col2im instead of phases. */
const PHASES_MIN_CHANNELS = 16;

function convInfoFor(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Conv2DBackpropFilterAttrs | Conv2DBackpropInputAttrs,
): ConvInfo {
  const dataFormat = backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (dataFormat !== 'channelsLast') throw new Error('wasm conv2d gradients support NHWC (channelsLast) only');
  return backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, dataFormat,
  );
}

/** Writes im2col(x) into `cols` ([N, Kh·Kw·Ci], row-major); zeros where the patch is padding. */
function im2col(x: Float32Array, cols: Float32Array, c: ConvInfo): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Oh, outWidth: Ow } = c;
  const { filterHeight: Kh, filterWidth: Kw, strideHeight: Sh, strideWidth: Sw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  const rowLen = Kh * Kw * Ci;
  let n = 0;
  for (let b = 0; b < B; b++) {
    const xb = b * H * W * Ci;
    for (let oh = 0; oh < Oh; oh++) {
      for (let ow = 0; ow < Ow; ow++, n++) {
        const colRow = n * rowLen;
        for (let kh = 0; kh < Kh; kh++) {
          const y = oh * Sh + kh - top;
          const colK = colRow + kh * Kw * Ci;
          if (y < 0 || y >= H) {
            cols.fill(0, colK, colK + Kw * Ci);
            continue;
          }
          const xRow = xb + y * W * Ci;
          const x0 = ow * Sw - left;
          // Contiguous run of in-bounds columns: one copy of (count · Ci) floats.
          const kwStart = Math.max(0, -x0);
          const kwEnd = Math.min(Kw, W - x0);
          if (kwStart > 0) cols.fill(0, colK, colK + kwStart * Ci);
          if (kwEnd > kwStart) {
            const src = xRow + (x0 + kwStart) * Ci;
            cols.set(x.subarray(src, src + (kwEnd - kwStart) * Ci), colK + kwStart * Ci);
          }
          if (kwEnd < Kw) cols.fill(0, colK + Math.max(kwEnd, kwStart) * Ci, colK + Kw * Ci);
        }
      }
    }
  }
}

/** Scatter-adds patch rows of `cols` ([N, Kh·Kw·Ci]) into `dx` ([B, H, W, Ci], zeroed first). */
function col2im(cols: Float32Array, dx: Float32Array, c: ConvInfo): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Oh, outWidth: Ow } = c;
  const { filterHeight: Kh, filterWidth: Kw, strideHeight: Sh, strideWidth: Sw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  const rowLen = Kh * Kw * Ci;
  dx.fill(0);
  let n = 0;
  for (let b = 0; b < B; b++) {
    const xb = b * H * W * Ci;
    for (let oh = 0; oh < Oh; oh++) {
      for (let ow = 0; ow < Ow; ow++, n++) {
        const colRow = n * rowLen;
        for (let kh = 0; kh < Kh; kh++) {
          const y = oh * Sh + kh - top;
          if (y < 0 || y >= H) continue;
          const xRow = xb + y * W * Ci;
          const x0 = ow * Sw - left;
          const kwStart = Math.max(0, -x0);
          const kwEnd = Math.min(Kw, W - x0);
          const count = (kwEnd - kwStart) * Ci;
          let src = colRow + (kh * Kw + kwStart) * Ci;
          let dst = xRow + (x0 + kwStart) * Ci;
          for (let i = 0; i < count; i++) dx[dst++]! += cols[src++]!;
        }
      }
    }
  }
}


function transposeNd(backend: BackendWasm, t: TensorInfo, perm: number[]): TensorInfo {
  return wasmKernel('Transpose')({ inputs: { x: t }, backend, attrs: { perm } });
}

/** Forward conv2d through the wasm kernel, stride 1, explicit padding, given dilation. */
function conv2dExplicit(
  backend: BackendWasm, x: TensorInfo, filter: TensorInfo, pad: [number, number, number, number], dilations: [number, number],
): TensorInfo {
  const [top, bottom, left, right] = pad;
  return wasmKernel('Conv2D')({
    inputs: { x, filter },
    backend,
    attrs: {
      strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations,
      dimRoundingMode: undefined as unknown as string,
    },
  });
}

/** Filter gradient as a batch/channel-swapped convolution (see the header); null if it needs cropping. */
function backpropFilterByConv(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, c: ConvInfo): TensorInfo | null {
  const { inHeight: H, inWidth: W, outHeight: Oh, outWidth: Ow, filterHeight: Kh, filterWidth: Kw } = c;
  const { strideHeight: Sh, strideWidth: Sw } = c;
  const { top, left } = c.padInfo;
  const bottom = Kh + Sh * (Oh - 1) - H - top;
  const right = Kw + Sw * (Ow - 1) - W - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  const xT = transposeNd(backend, x, [3, 1, 2, 0]); // [Ci, H, W, B]
  const dyT = transposeNd(backend, dy, [1, 2, 0, 3]); // [Oh, Ow, B, Co]
  const dWT = conv2dExplicit(backend, xT, dyT, [top, bottom, left, right], [Sh, Sw]); // [Ci, Kh, Kw, Co]
  const dW = transposeNd(backend, dWT, [1, 2, 0, 3]); // [Kh, Kw, Ci, Co]
  dispose(backend, xT, dyT, dWT);
  return dW;
}

interface Phase {
  /** Output offset of the phase in each axis. */
  py: number; px: number;
  /** Taps of the sub-kernel in each axis, and the padding of its stride-1 convolution. */
  jh: number; jw: number;
  pad: [number, number, number, number];
  /** Rows and columns of dx in this phase. */
  qh: number; qw: number;
  /** Residue of the kernel taps of this phase. */
  rh: number; rw: number;
}

/** The s² phases of a transposed convolution, or null if one would need negative padding. */
function phasesOf(c: ConvInfo): Phase[] | null {
  const { inHeight: H, inWidth: W, outHeight: Oh, outWidth: Ow, filterHeight: Kh, filterWidth: Kw } = c;
  const { strideHeight: Sh, strideWidth: Sw } = c;
  const axis = (p: number, s: number, k: number, pad0: number, size: number, outSize: number) => {
    const r = (p + pad0) % s;
    const carry = Math.floor((p + pad0) / s);
    const taps = r < k ? Math.ceil((k - r) / s) : 0;
    const rows = p < size ? Math.ceil((size - p) / s) : 0;
    const before = taps - 1 - carry;
    const after = rows - outSize - before + taps - 1;
    return { r, taps, rows, before, after };
  };
  const phases: Phase[] = [];
  for (let py = 0; py < Sh; py++) {
    for (let px = 0; px < Sw; px++) {
      const a = axis(py, Sh, Kh, c.padInfo.top, H, Oh);
      const b = axis(px, Sw, Kw, c.padInfo.left, W, Ow);
      if (a.rows === 0 || b.rows === 0) continue;
      if (a.taps > 0 && b.taps > 0 && (a.before < 0 || a.after < 0 || b.before < 0 || b.after < 0)) return null;
      phases.push({
        py, px, jh: a.taps, jw: b.taps, pad: [a.before, a.after, b.before, b.after],
        qh: a.rows, qw: b.rows, rh: a.r, rw: b.r,
      });
    }
  }
  return phases;
}

/** Flipped, channel-swapped sub-kernel of a phase: f[th, tw, co, ci] = W[s·(Jh−1−th)+rh, s·(Jw−1−tw)+rw, ci, co]. */
function subKernel(backend: BackendWasm, filter: TensorInfo, ph: Phase, c: ConvInfo): TensorInfo {
  const { filterWidth: Kw, inChannels: Ci, outChannels: Co, strideHeight: Sh, strideWidth: Sw } = c;
  const out = backend.makeOutput([ph.jh, ph.jw, Co, Ci], 'float32');
  const w = heapF32(backend, filter);
  const f = heapF32(backend, out);
  let i = 0;
  for (let th = 0; th < ph.jh; th++) {
    const kh = Sh * (ph.jh - 1 - th) + ph.rh;
    for (let tw = 0; tw < ph.jw; tw++) {
      const kw = Sw * (ph.jw - 1 - tw) + ph.rw;
      const base = (kh * Kw + kw) * Ci * Co;
      for (let co = 0; co < Co; co++) for (let ci = 0; ci < Ci; ci++) f[i++] = w[base + ci * Co + co]!;
    }
  }
  return out;
}

/**
 * Sub-kernels of recently used filters, so that a generator decoding frame after frame with the
 * same weights splits its filters once, and XNNPACK (which caches its packed operator by filter
 * tensor) packs them once. In training the filters change every step; entries whose filter has
 * been disposed are freed on the next call, and at most SUBKERNEL_CACHE_SIZE filters are kept.
 */
const SUBKERNEL_CACHE_SIZE = 16;
const subKernelCache = new Map<object, { key: string; kernels: TensorInfo[] }>();

function cachedSubKernels(backend: BackendWasm, filter: TensorInfo, phases: Phase[], c: ConvInfo): TensorInfo[] {
  const key = `${c.strideHeight},${c.strideWidth},${c.padInfo.top},${c.padInfo.left},${c.inHeight},${c.inWidth}`;
  const hit = subKernelCache.get(filter.dataId);
  if (hit && hit.key === key && backend.dataIdMap.has(filter.dataId)) {
    subKernelCache.delete(filter.dataId); // re-insert: most recently used last
    subKernelCache.set(filter.dataId, hit);
    return hit.kernels;
  }
  for (const [dataId, entry] of subKernelCache) {
    if (entry === hit || !backend.dataIdMap.has(dataId)) {
      dispose(backend, ...entry.kernels);
      subKernelCache.delete(dataId);
    }
  }
  while (subKernelCache.size >= SUBKERNEL_CACHE_SIZE) {
    const [oldest, entry] = subKernelCache.entries().next().value as [object, { kernels: TensorInfo[] }];
    dispose(backend, ...entry.kernels);
    subKernelCache.delete(oldest);
  }
  const kernels = phases.map((ph) => subKernel(backend, filter, ph, c));
  subKernelCache.set(filter.dataId, { key, kernels });
  return kernels;
}

/** Input gradient by sub-pixel phases (see the header); null if a phase needs cropping. */
function backpropInputByPhases(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, c: ConvInfo): TensorInfo | null {
  const phases = phasesOf(c);
  if (!phases) return null;
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, strideHeight: Sh, strideWidth: Sw } = c;
  const reached = phases.filter((ph) => ph.jh > 0 && ph.jw > 0); // other phases stay zero
  const kernels = cachedSubKernels(backend, filter, reached, c);
  const results = reached.map((ph, i) => ({ ph, out: conv2dExplicit(backend, dy, kernels[i]!, ph.pad, [1, 1]) }));
  const dx = backend.makeOutput([B, H, W, Ci], 'float32');
  const d = heapF32(backend, dx);
  if (results.length < Sh * Sw) d.fill(0);
  for (const { ph, out } of results) {
    const src = heapF32(backend, out);
    let i = 0;
    for (let b = 0; b < B; b++) {
      for (let q = 0; q < ph.qh; q++) {
        let dst = ((b * H + Sh * q + ph.py) * W + ph.px) * Ci;
        const step = Sw * Ci;
        if (Ci === 1) {
          for (let qx = 0; qx < ph.qw; qx++, dst += step) d[dst] = src[i++]!;
        } else {
          for (let qx = 0; qx < ph.qw; qx++, dst += step, i += Ci) d.set(src.subarray(i, i + Ci), dst);
        }
      }
    }
    dispose(backend, out);
  }
  return dx;
}

function conv2DBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const c = convInfoFor(x.shape as [number, number, number, number], filterShape, attrs);
  const byConv = backpropFilterByConv(backend, x, dy, c);
  if (byConv) return view(byConv, filterShape);
  const N = c.batchSize * c.outHeight * c.outWidth;
  const rowLen = c.filterHeight * c.filterWidth * c.inChannels;

  // Reached only with negative padding; a 1×1 stride-1 filter never needs any, so x is never
  // its own im2col matrix here.
  const cols = backend.makeOutput([N, rowLen], 'float32');
  im2col(heapF32(backend, x), heapF32(backend, cols), c);
  const dyT = transpose2d(backend, view(dy, [N, c.outChannels])); // [Co, N]
  const dWT = matMul2d(backend, dyT, cols); // [1, Co, rowLen]
  const dW = transpose2d(backend, view(dWT, [c.outChannels, rowLen])); // [rowLen, Co]
  dispose(backend, dyT, dWT, cols);
  return view(dW, filterShape);
}

function conv2DBackpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropInputAttrs }): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const inputShape = attrs.inputShape as [number, number, number, number];
  const c = convInfoFor(inputShape, filter.shape as [number, number, number, number], attrs);
  // Each phase convolution has dx's channels as its outputs; XNNPACK is slow with few of them
  // (measured on [64,14,14,64] -> [64,28,28,1]: phases 9.9 ms, col2im 2.7 ms).
  const byPhases = c.inChannels >= PHASES_MIN_CHANNELS ? backpropInputByPhases(backend, dy, filter, c) : null;
  if (byPhases) return byPhases;
  const N = c.batchSize * c.outHeight * c.outWidth;
  const rowLen = c.filterHeight * c.filterWidth * c.inChannels;

  const wT = transpose2d(backend, view(filter, [rowLen, c.outChannels])); // [Co, rowLen]
  const cols = matMul2d(backend, view(dy, [N, c.outChannels]), wT); // [1, N, rowLen]
  const isPointwise = c.filterHeight === 1 && c.filterWidth === 1 && c.strideHeight === 1 && c.strideWidth === 1
    && c.padInfo.top === 0 && c.padInfo.left === 0;
  if (isPointwise) {
    dispose(backend, wT);
    return view(cols, inputShape);
  }
  const dx = backend.makeOutput(inputShape, 'float32');
  col2im(heapF32(backend, cols), heapF32(backend, dx), c);
  dispose(backend, wT, cols);
  return dx;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  // A sum over images: halves of the batch add up.
  kernelFunc: withBatchSplit('Conv2DBackpropFilter', conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'], (inputs, attrs) => {
    const a = attrs as unknown as Conv2DBackpropFilterAttrs;
    return {
      macs: conv2dMacs(inputs.x!.shape, a.filterShape, a.strides, a.pad, a.dimRoundingMode),
      split: ['x', 'dy'],
      outShape: () => a.filterShape,
      join: 'sum',
      attrsFor: () => attrs,
    };
  }),
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  // Each image alone: halves of the batch concatenate.
  kernelFunc: withBatchSplit('Conv2DBackpropInput', conv2DBackpropInput as unknown as KernelConfig['kernelFunc'], (inputs, attrs) => {
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    const rest = a.inputShape.slice(1);
    return {
      macs: conv2dMacs(a.inputShape, inputs.filter!.shape, a.strides, a.pad, a.dimRoundingMode),
      split: ['dy'],
      outShape: (batch) => [batch, ...rest],
      join: 'concat',
      attrsFor: (batch) => ({ ...attrs, inputShape: [batch, ...rest] }),
    };
  }),
};

export function registerConv2DBackprop(): string[] {
  registerKernel(conv2DBackpropFilterConfig);
  registerKernel(conv2DBackpropInputConfig);
  return ['Conv2DBackpropFilter', 'Conv2DBackpropInput'];
}
