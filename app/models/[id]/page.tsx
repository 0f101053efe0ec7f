import type { Metadata } from 'next';
import { ModelView } from '@/components/model/model-view';

export const metadata: Metadata = { title: 'Model · Latentroom' };

export default async function ModelPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <ModelView modelId={id} />;
}
