/**
 * Renders one room state: truncation in float32 here (cheap, 64 values), the decode in the
 * engine worker (the realtime thread runs no tensor op), PNG encoding here (~0.05 ms at 28×28;
 * see ./encode-frame.ts). A batcher across rooms will sit behind the same function.
 */
import { truncate } from '../../lib/latent/vector';
import type { EngineClient } from '../inference/engine-protocol';
import { encodePng } from './encode-frame';
import type { RenderFrame } from './room';

export function engineRenderer(engine: Pick<EngineClient, 'decode'>): RenderFrame {
  return async (modelId, z, psi) => {
    const input = truncate(z, undefined, psi); // a fresh buffer: decode transfers it
    const { pixels, shape } = await engine.decode(modelId, input, 1);
    const [, height, width, channels] = shape;
    if (channels !== 1 && channels !== 3) throw new Error(`cannot encode ${channels} channels`);
    return { width, height, channels, format: 'png', data: encodePng(pixels, width, height, channels) };
  };
}
