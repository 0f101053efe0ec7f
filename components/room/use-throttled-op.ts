'use client';

/**
 * Slider ops: at most one in flight-interval, the newest value always sent last (a slider drag
 * makes dozens of input events a second; the server's budget is 60 ops/s and a frame takes
 * longer than that anyway).
 */
import { useCallback, useEffect, useRef } from 'react';
import type { LatentOp } from '@/lib/protocol/rooms';
import { useExplorerStore } from '@/components/providers/explorer-provider';

/** Slider ops at most this often. */
export const SLIDER_OP_INTERVAL_MS = 60;

export function useThrottledOp(): (op: LatentOp) => void {
  const store = useExplorerStore();
  const state = useRef<{ last: number; timer: ReturnType<typeof setTimeout> | undefined; pending: LatentOp | undefined }>({ last: -Infinity, timer: undefined, pending: undefined });
  useEffect(() => {
    const s = state.current;
    return () => clearTimeout(s.timer);
  }, []);
  return useCallback(
    (op: LatentOp) => {
      const s = state.current;
      s.pending = op;
      const flush = () => {
        s.timer = undefined;
        if (!s.pending) return;
        void store.getState().steer(s.pending);
        s.pending = undefined;
        s.last = performance.now();
      };
      const wait = s.last + SLIDER_OP_INTERVAL_MS - performance.now();
      if (wait <= 0 && !s.timer) flush();
      else s.timer ??= setTimeout(flush, Math.max(0, wait));
    },
    [store],
  );
}
