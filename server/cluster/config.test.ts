import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../lib/env';
import { clusterConfig } from './config';

describe('clusterConfig', () => {
  it('is undefined without REDIS_URL (the single-process default)', () => {
    expect(clusterConfig(parseEnv({}))).toBeUndefined();
  });

  it('refuses combinations that cannot work, naming the variable', () => {
    expect(() => clusterConfig(parseEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }))).toThrow(/DATABASE_URL=postgres/);
    expect(() => clusterConfig(parseEnv({ REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: './data/db' }))).toThrow(/DATABASE_URL=postgres/);
    expect(() => clusterConfig(parseEnv({ INFERENCE_MODE: 'queue' }))).toThrow(/INFERENCE_MODE=queue needs REDIS_URL/);
    expect(() => clusterConfig(parseEnv({ TRAINING_MODE: 'queue' }))).toThrow(/TRAINING_MODE=queue needs REDIS_URL/);
  });

  it('names the node after its host and process unless CLUSTER_NODE_ID says otherwise', () => {
    const base = { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' };
    const a = clusterConfig(parseEnv(base))!;
    const b = clusterConfig(parseEnv(base))!;
    expect(a.nodeId).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{8}$`));
    expect(a.nodeId).not.toBe(b.nodeId);
    expect(clusterConfig(parseEnv({ ...base, CLUSTER_NODE_ID: 'rt-1', INFERENCE_MODE: 'queue' }))).toMatchObject({ nodeId: 'rt-1', inference: 'queue', prefix: 'latentroom', leaseMs: 3000 });
  });
});
