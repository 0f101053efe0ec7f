// Entry of the batch-split helper thread: registers tsx, then runs the TypeScript helper (Node 20
// does not apply a Worker's execArgv loaders to its entry module; see ../worker-entry.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./batch-split-worker.ts');
