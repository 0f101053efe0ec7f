/**
 * The answers the store's intents give when the server did not: shared by every slice that sends
 * a request through the realtime layer (./explorer-store.ts, ./history-slice.ts).
 */

/** No realtime layer bound yet (the room is not joined). */
export const NOT_CONNECTED = { ok: false as const, error: 'not-joined' as const, message: 'not connected to the room yet' };

/** The request failed or timed out before an ack. */
export const NO_ANSWER = { ok: false as const, error: 'internal' as const, message: 'no answer from the server (timed out)' };

/** A refused request in words: the server's message, else its error code. */
export const describeRefusal = (res: { ok: false; error: string; message?: string }) => res.message ?? res.error;
