/**
 * Renders one room state: truncation in float32 here (cheap, 64 values), the decode in the
 * engine worker through the cross-room batcher (the realtime thread runs no tensor op), PNG
 * encoding here (~0.1-0.3 ms at 28×28; see ./encode-frame.ts).
 */
import { truncate } from '../../lib/latent/vector';
import type { EngineClient } from '../inference/engine-protocol';
import { createDecodeBatcher, DEFAULT_DECODE_BATCH, type DecodeBatchOptions } from './decode-batcher';
import { encodePng } from './encode-frame';
import type { RenderFrame } from './room';

export function engineRenderer(engine: Pick<EngineClient, 'decode'>, batch: DecodeBatchOptions = DEFAULT_DECODE_BATCH): RenderFrame {
  const batcher = createDecodeBatcher(engine, batch);
  return async (modelId, z, psi) => {
    const { pixels, shape } = await batcher.decode(modelId, truncate(z, undefined, psi));
    const [height, width, channels] = shape;
    if (channels !== 1 && channels !== 3) throw new Error(`cannot encode ${channels} channels`);
    return { width, height, channels, format: 'png', data: encodePng(pixels, width, height, channels) };
  };
}
