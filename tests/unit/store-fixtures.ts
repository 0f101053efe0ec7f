/** Fixtures shared by the store's unit tests. */
import type { RoomSnapshot } from '../../lib/protocol/rooms';

/** A 2-d room of vae-mnist at `version` (z = [version, -version]), joined by editor Ada. */
export function snapshot(version: number, over: Partial<RoomSnapshot> = {}): RoomSnapshot {
  return {
    roomId: 'room-aaaaaaaa',
    modelId: 'vae-mnist',
    latentDim: 2,
    numClasses: null,
    imageShape: [28, 28, 1],
    directions: [],
    version,
    z: [version, -version],
    psi: 1,
    classLabel: null,
    weights: {},
    bookmarks: [],
    members: [{ memberId: 'm_a', name: 'Ada', color: '#e6194b', role: 'editor' }],
    memberId: 'm_a',
    role: 'editor',
    ...over,
  };
}
