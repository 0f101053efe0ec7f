// Entry of the directions worker's child process: registers tsx, then runs the TypeScript worker
// (see ../inference/worker-entry.mjs for why this is a plain .mjs file).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
