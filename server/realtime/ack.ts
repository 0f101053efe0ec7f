/**
 * Turns a typed request handler into a Socket.IO listener that parses the payload at the
 * boundary and always answers through the ack with a closed `Result` (SPEC E1, E2).
 */
import type { z } from 'zod';
import type { Result } from '../../lib/protocol/events';
import type { Logger } from '../logger';

export class RequestError extends Error {
  constructor(
    readonly code: Exclude<Extract<Result<never>, { ok: false }>['error'], 'internal'>,
    message: string,
  ) {
    super(message);
  }
}

export function handleRequest<S extends z.ZodType, T>(
  event: string,
  schema: S,
  logger: Logger,
  handler: (payload: z.infer<S>) => Promise<T> | T,
): (payload: unknown, ack: unknown) => Promise<void> {
  return async (payload, ack) => {
    if (typeof ack !== 'function') return; // E2: nobody to answer.
    const reply = ack as (res: Result<T>) => void;
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      reply({ ok: false, error: 'bad-request', message: parsed.error.issues[0]?.message ?? 'invalid payload' });
      return;
    }
    try {
      reply({ ok: true, data: await handler(parsed.data) });
    } catch (err) {
      if (err instanceof RequestError) {
        reply({ ok: false, error: err.code, message: err.message });
        return;
      }
      logger.error(`${event} failed`, err);
      reply({ ok: false, error: 'internal' });
    }
  };
}
