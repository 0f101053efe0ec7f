import type { Metadata } from 'next';
import { PermalinkView } from '@/components/bookmark/permalink-view';

export const metadata: Metadata = { title: 'Bookmark · Latentroom' };

export default async function BookmarkPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <PermalinkView id={id} />;
}
