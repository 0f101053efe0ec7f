/**
 * Renders one room state: truncation in float32 here (cheap, 64 values), the decode in the
 * engine worker (the realtime thread runs no tensor op; the worker batches the requests of all
 * rooms, server/inference/decode-batcher.ts), PNG encoding here (~0.1-0.3 ms at 28×28; see
 * ./encode-frame.ts).
 */
import { truncate } from '../../lib/latent/vector';
import type { EngineClient } from '../inference/engine-protocol';
import { encodePng } from './encode-frame';
import type { RenderFrame } from './room';

export function engineRenderer(engine: Pick<EngineClient, 'decode'>): RenderFrame {
  return async (modelId, z, psi, classLabel) => {
    const classes = classLabel === null ? undefined : Int32Array.of(classLabel);
    const { pixels, shape } = await engine.decode(modelId, truncate(z, undefined, psi), 1, classes);
    const [, height, width, channels] = shape;
    if (channels !== 1 && channels !== 3) throw new Error(`cannot encode ${channels} channels`);
    return { width, height, channels, format: 'png', data: encodePng(pixels, width, height, channels) };
  };
}
