'use client';

/**
 * Creates the explorer store once per page (zustand's Next.js guide: a vanilla store in a client
 * provider, never module state, never touched by Server Components) and hands it to the tree.
 */
import { createContext, useContext, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { createExplorerStore, type ExplorerState, type ExplorerStore } from '@/lib/stores/explorer-store';

const ExplorerContext = createContext<ExplorerStore | null>(null);

export function ExplorerProvider({ children }: { children: ReactNode }) {
  const [store] = useState(createExplorerStore);
  return <ExplorerContext.Provider value={store}>{children}</ExplorerContext.Provider>;
}

/** The page's store (for the realtime layer and per-frame reads with getState()). */
export function useExplorerStore(): ExplorerStore {
  const store = useContext(ExplorerContext);
  if (!store) throw new Error('useExplorerStore needs an <ExplorerProvider> above it');
  return store;
}

/** Subscribes a component to a slice of the store. */
export function useExplorer<T>(selector: (s: ExplorerState) => T): T {
  return useStore(useExplorerStore(), selector);
}
