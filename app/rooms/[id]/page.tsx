import type { Metadata } from 'next';
import { RoomExplorer } from '@/components/room/room-explorer';

export const metadata: Metadata = { title: 'Room · Latentroom' };

export default async function RoomPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <RoomExplorer roomId={id} />;
}
