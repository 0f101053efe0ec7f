'use client';

/**
 * The tools above the direction sliders: "Find directions" and "Steer toward", each folded in a
 * <details> so the sliders stay in view. The attributes both offer are the ones the server says
 * the model's classifier scores (GET /api/models/:id/directions/attributes), never a guess.
 */
import { useEffect, useState } from 'react';
import { DirectionAttributesAnswerSchema, directionAttributesUrl } from '@/lib/protocol/directions';
import { FindDirectionsPanel } from './find-directions-panel';
import { SteerTowardForm } from './steer-toward-form';

type Attributes = { status: 'loading' } | { status: 'ready'; attributes: string[] } | { status: 'error'; message: string };

function useModelAttributes(modelId: string): Attributes {
  const [state, setState] = useState<Attributes>({ status: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    void fetch(directionAttributesUrl(modelId), { signal: abort.signal })
      .then(async (r) => {
        const body: unknown = await r.json();
        const parsed = DirectionAttributesAnswerSchema.safeParse(body);
        if (parsed.success) setState({ status: 'ready', attributes: parsed.data.attributes });
        else setState({ status: 'error', message: r.ok ? 'the server gave an unreadable answer' : `the server answered ${r.status}` });
      })
      .catch((err: unknown) => {
        if (!abort.signal.aborted) setState({ status: 'error', message: err instanceof Error ? err.message : 'network error' });
      });
    return () => abort.abort();
  }, [modelId]);
  return state;
}

export function DirectionTools({ modelId, family, disabledReason }: { modelId: string; family: string | undefined; disabledReason: string | null }) {
  const attrs = useModelAttributes(modelId);
  const attributes = attrs.status === 'ready' ? attrs.attributes : [];
  const reason = disabledReason ?? (attrs.status === 'loading' ? 'Reading what the model’s classifier scores…' : null);
  return (
    <div className="direction-tools">
      {attrs.status === 'error' && (
        <p className="field-error" role="alert">
          Could not read the model’s classifier attributes ({attrs.message}); methods that need them are unavailable.
        </p>
      )}
      <details className="tool" data-testid="find-directions">
        <summary>Find directions</summary>
        <FindDirectionsPanel disabledReason={reason} attributes={attributes} family={family} />
      </details>
      <details className="tool" data-testid="steer-toward">
        <summary>Steer toward an attribute</summary>
        <SteerTowardForm disabledReason={reason} attributes={attributes} />
      </details>
    </div>
  );
}
