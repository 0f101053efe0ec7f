/**
 * Newest-wins gates for traffic tagged with the room's state version (SPEC F2). Frames travel
 * volatile and may arrive late, twice (a recovered reconnect replays) or out of order relative
 * to state; a client never paints a frame older than one it has painted, and never rolls its
 * state back to an older version.
 */
export interface VersionGate {
  /** True (and remembers `version`) when it is newer than everything accepted so far. */
  accept(version: number): boolean;
  /** The newest accepted version, -1 before any. */
  readonly latest: number;
  /** Forget everything (another room). */
  reset(): void;
}

export function createVersionGate(): VersionGate {
  let latest = -1;
  return {
    accept(version) {
      if (!Number.isInteger(version) || version <= latest) return false;
      latest = version;
      return true;
    },
    get latest() {
      return latest;
    },
    reset() {
      latest = -1;
    },
  };
}
