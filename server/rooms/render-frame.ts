/**
 * Renders one room state: truncation in float32 here (cheap, 64 values); the decode and the PNG
 * encoding in the engine worker (`decodePng`: the realtime thread runs no tensor op and no
 * encoder; the worker batches the requests of all rooms, server/inference/decode-batcher.ts;
 * why PNG: ./encode-frame.ts).
 */
import { truncate } from '../../lib/latent/vector';
import type { EngineClient } from '../inference/engine-protocol';
import type { RenderFrame } from './room';

export function engineRenderer(engine: Pick<EngineClient, 'decodePng'>): RenderFrame {
  return async (modelId, z, psi, classLabel) => {
    const classes = classLabel === null ? undefined : Int32Array.of(classLabel);
    const { width, height, channels, data } = await engine.decodePng(modelId, truncate(z, undefined, psi), classes);
    return { width, height, channels, format: 'png', data };
  };
}
