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
});
