/** handleRequest: the boundary every acked event goes through (SPEC E1, E2). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HelloRequestSchema, type Result } from '../../lib/protocol/events';
import { createLogger, type Logger } from '../logger';
import { handleRequest, RequestError } from './ack';

function capture<T>(listener: (payload: unknown, ack: unknown) => Promise<void>, payload: unknown) {
  return new Promise<Result<T>>((resolve) => void listener(payload, resolve));
}

function recordingLogger(): Logger & { errors: unknown[] } {
  const errors: unknown[] = [];
  return { ...createLogger('silent'), error: (_msg, extra) => errors.push(extra), errors };
}

describe('handleRequest', () => {
  it('E1: any payload that is not a valid hello is acked bad-request, never thrown', async () => {
    const listener = handleRequest('server:hello', HelloRequestSchema, recordingLogger(), () => 'handled');
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (payload) => {
        const valid = HelloRequestSchema.safeParse(payload).success;
        const res = await capture<string>(listener, payload);
        expect(res).toEqual(valid ? { ok: true, data: 'handled' } : expect.objectContaining({ ok: false, error: 'bad-request' }));
      }),
    );
  });

  it('E1: an unexpected error is logged and acked as internal, without its message', async () => {
    const logger = recordingLogger();
    const secret = new Error('connection string postgres://user:pw@db');
    const listener = handleRequest('server:hello', HelloRequestSchema, logger, () => {
      throw secret;
    });
    const res = await capture<never>(listener, { protocolVersion: 1 });
    expect(res).toEqual({ ok: false, error: 'internal' });
    expect(JSON.stringify(res)).not.toContain('postgres');
    expect(logger.errors).toEqual([secret]);
  });

  it('a RequestError reaches the client with its code and message', async () => {
    const listener = handleRequest('server:hello', HelloRequestSchema, recordingLogger(), async () => {
      throw new RequestError('protocol-mismatch', 'reload');
    });
    expect(await capture<never>(listener, { protocolVersion: 1 })).toEqual({
      ok: false,
      error: 'protocol-mismatch',
      message: 'reload',
    });
  });

  it('E2: an event without an ack function is ignored', async () => {
    let called = false;
    const listener = handleRequest('server:hello', HelloRequestSchema, recordingLogger(), () => {
      called = true;
    });
    await expect(listener({ protocolVersion: 1 }, undefined)).resolves.toBeUndefined();
    expect(called).toBe(false);
  });
});
