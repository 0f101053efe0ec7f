import { describe, expect, it } from 'vitest';
import { parseEnv } from './env';

describe('env', () => {
  it('has embedded defaults: no variable is needed to start', () => {
    const e = parseEnv({});
    expect(e).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', DATA_DIR: './data', DATABASE_URL: '', REQUIRE_SERVICES: false });
    expect(e.TF_BACKEND).toBeUndefined();
  });

  it('REQUIRE_SERVICES is on only for 1 or true', () => {
    expect(parseEnv({ REQUIRE_SERVICES: '1' }).REQUIRE_SERVICES).toBe(true);
    expect(parseEnv({ REQUIRE_SERVICES: 'true' }).REQUIRE_SERVICES).toBe(true);
    expect(parseEnv({ REQUIRE_SERVICES: '0' }).REQUIRE_SERVICES).toBe(false);
    expect(() => parseEnv({ REQUIRE_SERVICES: 'yes' })).toThrow();
  });

  it('rejects a backend outside the ladder and a port out of range', () => {
    expect(() => parseEnv({ TF_BACKEND: 'webgl' })).toThrow();
    expect(() => parseEnv({ PORT: '70000' })).toThrow();
    expect(parseEnv({ TF_BACKEND: 'cpu', PORT: '0' })).toMatchObject({ TF_BACKEND: 'cpu', PORT: 0 });
  });

  it('has the realtime limits and decode batching by default, and validates them', () => {
    expect(parseEnv({})).toMatchObject({
      DECODE_MAX_BATCH: 32,
      DECODE_MAX_WAIT_MS: 0,
      RATE_LIMIT_OPS_PER_S: 60,
      RATE_LIMIT_OPS_BURST: 120,
      MAX_PAYLOAD_BYTES: 65536,
      ALLOWED_ORIGINS: [],
    });
    expect(parseEnv({ DECODE_MAX_BATCH: '1', DECODE_MAX_WAIT_MS: '2.5' })).toMatchObject({ DECODE_MAX_BATCH: 1, DECODE_MAX_WAIT_MS: 2.5 });
    expect(() => parseEnv({ DECODE_MAX_BATCH: '0' })).toThrow();
    expect(() => parseEnv({ DECODE_MAX_WAIT_MS: '-1' })).toThrow();
    expect(() => parseEnv({ RATE_LIMIT_OPS_PER_S: '0' })).toThrow();
    expect(() => parseEnv({ MAX_PAYLOAD_BYTES: '10' })).toThrow();
  });

  it('ALLOWED_ORIGINS takes exact http(s) origins, comma-separated, and refuses anything else', () => {
    expect(parseEnv({ ALLOWED_ORIGINS: ' https://lab.example.org, http://localhost:3001/ ' }).ALLOWED_ORIGINS).toEqual([
      'https://lab.example.org',
      'http://localhost:3001',
    ]);
    expect(() => parseEnv({ ALLOWED_ORIGINS: 'https://lab.example.org/app' })).toThrow(/not an origin/);
    expect(() => parseEnv({ ALLOWED_ORIGINS: 'lab.example.org' })).toThrow(/not an origin/);
    expect(() => parseEnv({ ALLOWED_ORIGINS: 'ftp://lab.example.org' })).toThrow(/not an origin/);
    expect(() => parseEnv({ ALLOWED_ORIGINS: '*' })).toThrow(/not an origin/);
  });
});

describe('env: cluster mode', () => {
  it('is off by default: one process, frames and training local, the app served', () => {
    expect(parseEnv({})).toMatchObject({ REDIS_URL: '', INFERENCE_MODE: 'local', TRAINING_MODE: 'local', ROOM_LEASE_MS: 3000, SERVE_APP: true });
  });

  it('validates its variables', () => {
    expect(parseEnv({ SERVE_APP: '0', ROOM_LEASE_MS: '2000', INFERENCE_MODE: 'queue' })).toMatchObject({ SERVE_APP: false, ROOM_LEASE_MS: 2000, INFERENCE_MODE: 'queue' });
    expect(() => parseEnv({ ROOM_LEASE_MS: '100' })).toThrow();
    expect(() => parseEnv({ INFERENCE_MODE: 'gpu' })).toThrow();
    expect(() => parseEnv({ CLUSTER_PREFIX: 'a b' })).toThrow();
    expect(() => parseEnv({ CLUSTER_NODE_ID: 'node/1' })).toThrow();
  });
});
