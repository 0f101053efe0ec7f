/**
 * Shared by every `bench:*` command: timing statistics, the peer runner, and the output contract
 * (human-readable lines, and with `--json` one JSON object on the last line; docs/benchmarks.md
 * documents each command's fields).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const JSON_OUTPUT = process.argv.includes('--json');

/** Value of `--name value` or `--name=value` on the command line. */
export function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: number[]) => quantile(values, 0.5);

/** Runs `f` `warmup` times, then `runs` times; returns each run's wall time in ms. */
export function timeRuns(f: () => void, runs: number, warmup = 2): number[] {
  for (let i = 0; i < warmup; i++) f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times;
}

/** Logs a line unless the output is JSON (progress goes to stderr then, so stdout stays parseable). */
export function say(line: string): void {
  if (JSON_OUTPUT) process.stderr.write(`${line}\n`);
  else console.log(line);
}

/** Prints the figures: aligned lines, or one JSON object as the last line with --json. */
export function report(figures: Record<string, unknown>): void {
  if (JSON_OUTPUT) {
    console.log(JSON.stringify(figures));
    return;
  }
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [k, v] of Object.entries(figures)) {
    console.log(`${k.padEnd(width)}  ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
}

export const round = (x: number, digits = 1) => Number(x.toFixed(digits));

const PYTHON = '/usr/bin/python3';

/** The peer script of ../shared/bench beside the repository, if present. */
export function peerScript(name: string): string | undefined {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidate = path.resolve(repoRoot, '..', 'shared', 'bench', name);
  return existsSync(candidate) ? candidate : undefined;
}

/** Whether PyTorch is importable by Debian's python3 (apt-get install -y python3-torch). */
export function torchAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Why the peer cannot run here (no script, no PyTorch), or undefined when it can. */
export function peerMissingReason(script: string | undefined): string | undefined {
  if (!script) return 'not run: ../shared/bench/torch_dcgan.py not found';
  if (!torchAvailable()) return 'not run: /usr/bin/python3 cannot import torch (apt-get install -y python3-torch)';
  return undefined;
}

/** Runs a peer script with --json and returns its last-line JSON object. */
export function runPeer(script: string, args: string[]): Record<string, unknown> {
  const out = execFileSync(PYTHON, [script, ...args, '--json'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const last = out.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as Record<string, unknown>;
}
