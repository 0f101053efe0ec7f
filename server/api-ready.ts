/**
 * The line server/api-entry.ts prints once it listens, followed by its URL: what a supervisor
 * (and the durability test) waits for. Apart from the entry, which starts a server when imported.
 */
export const API_READY_LINE = 'Latentroom API ready at ';
