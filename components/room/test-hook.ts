/**
 * `window.__latentroom`: what the e2e tests read instead of pixels (tests/e2e): the scene's
 * figures from the three.js renderer (renderer.info) and the store's versions. Plain numbers,
 * written where they change; nothing reads them in the app itself.
 */
import type { DirectionDiscoverRequest, DirectionDiscoverResponse } from '@/lib/protocol/directions';
import type { Result } from '@/lib/protocol/events';
import type { LatentOp } from '@/lib/protocol/rooms';

export interface LatentroomHook {
  /** Points in the cloud's draw range. */
  pointCount: number;
  /** Scene renders so far. */
  renderedFrames: number;
  /** Draw calls of the last scene render (renderer.info.render.calls). */
  drawCalls: number;
  /** The 3D view runs on a software rasteriser (drawn without multisampling, at pixel ratio 1). */
  softwareRenderer?: boolean;
  /** The projection the cloud is drawn with. */
  projection: 'pca' | 'umap' | null;
  /** Bookmark markers drawn in the 3D view. */
  markerCount: number;
  /** Version of the frame on screen (-1 before any). */
  lastFrameVersion: number;
  /** Version of the room's latent state. */
  roomVersion: number;
  /** The room's z at that version. */
  roomZ: number[] | null;
  /** Scene position of the room's z. */
  current: [number, number, number] | null;
  /** Scene position of the version the history scrubber previews; null when live. */
  previewAt?: [number, number, number] | null;
  /** Scene position of each other member's avatar, by member id. */
  probes: Record<string, [number, number, number]>;
  /** Sends an op past the UI (which a viewer's disabled controls would not), answering the server's ack. */
  forceOp?: (op: LatentOp) => Promise<Result<{ version: number }>>;
  /** Sends `direction:discover` past the UI (a viewer's form is disabled), answering the server's ack. */
  forceDiscover?: (req: DirectionDiscoverRequest) => Promise<Result<DirectionDiscoverResponse>>;
}

declare global {
  interface Window {
    __latentroom?: LatentroomHook;
  }
}

export function testHook(): LatentroomHook {
  window.__latentroom ??= { pointCount: 0, renderedFrames: 0, drawCalls: 0, markerCount: 0, projection: null, lastFrameVersion: -1, roomVersion: -1, roomZ: null, current: null, probes: {} };
  return window.__latentroom;
}
