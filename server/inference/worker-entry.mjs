// Entry of an engine host, in a worker thread or a child process: registers tsx, then runs the
// TypeScript worker. A plain .mjs file because Node 20 does not apply loaders given in a
// Worker's execArgv to the worker's own entry module (nodejs/node#47747, privatenumber/tsx#354).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
