/**
 * A small flag parser for the command-line tools: `--name value`, `--name=value` and bare
 * `--flag` (true). Unknown flags are an error naming them, so a typo never silently trains with
 * a default.
 */
export type Flags = Record<string, string | true>;

export function parseFlags(argv: readonly string[], known: readonly string[], booleans: readonly string[] = []): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)} (flags start with --)`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.includes(name) && !booleans.includes(name)) {
      throw new Error(`unknown flag --${name}; known: ${[...known, ...booleans].map((k) => `--${k}`).join(' ')}`);
    }
    if (booleans.includes(name)) {
      flags[name] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (name in flags && name !== 'set') throw new Error(`--${name} given twice`);
    flags[name] = name === 'set' && typeof flags[name] === 'string' ? `${flags[name] as string}\n${value}` : value;
  }
  return flags;
}

/** An integer flag, or the default; a clear error for anything else. */
export function intFlag(flags: Flags, name: string, fallback?: number): number | undefined {
  const v = flags[name];
  if (v === undefined) return fallback;
  if (v === true || !/^-?\d+$/.test(v)) throw new Error(`--${name} must be an integer, got ${String(v)}`);
  return Number(v);
}

/** A number flag, or the default. */
export function numberFlag(flags: Flags, name: string, fallback?: number): number | undefined {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = v === true ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${String(v)}`);
  return n;
}

/** `key=value` pairs of repeated --set flags; values parse as JSON when they can (numbers, booleans). */
export function setFlags(flags: Flags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const raw = flags['set'];
  if (typeof raw !== 'string') return out;
  for (const pair of raw.split('\n')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--set wants key=value, got ${JSON.stringify(pair)}`);
    const value = pair.slice(eq + 1);
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      // a plain string
    }
    out[pair.slice(0, eq)] = parsed;
  }
  return out;
}

/**
 * Runs a command's `main` and exits with its code; an error thrown by it prints its message
 * (no stack: the messages are written for users) and exits 2.
 */
export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(2);
    },
  );
}
