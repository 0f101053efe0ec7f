'use client';

/** The connection's state in words: connecting, live, reconnecting (socket.io retries by itself), or failed with the reason. */
import { useExplorer } from '@/components/providers/explorer-provider';

export function ConnectionPill() {
  const { status, attempt } = useExplorer((s) => s.connection);
  const tone = status === 'live' ? 'good' : status === 'failed' ? 'bad' : 'wait';
  const text = status === 'live' ? 'live' : status === 'connecting' ? 'connecting…' : status === 'reconnecting' ? `reconnecting${attempt > 1 ? ` (try ${attempt})` : '…'}` : 'disconnected';
  return (
    <span className={`pill pill-${tone}`} data-testid="connection" role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

export function ConnectionBanner() {
  const { status, message } = useExplorer((s) => s.connection);
  const lastError = useExplorer((s) => s.lastError);
  const clearError = useExplorer((s) => s.clearError);
  return (
    <>
      {status !== 'live' && message && (
        <div className={`banner ${status === 'failed' ? 'banner-bad' : 'banner-wait'}`} role="alert">
          {message}
          {status === 'failed' && (
            <>
              {' '}
              <a href="/">Back to the start page</a>
            </>
          )}
        </div>
      )}
      {lastError && (
        <div className="banner banner-bad" role="alert">
          The server refused that: {lastError}.{' '}
          <button type="button" className="link-button" onClick={clearError}>
            Dismiss
          </button>
        </div>
      )}
    </>
  );
}
