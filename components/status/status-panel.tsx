'use client';

/**
 * Live status of the server this page came from: the socket connection (with a protocol
 * handshake) and `/api/health` (engine backend, models, database).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { HEALTH_PATH, HealthSchema, type Health } from '@/lib/protocol/health';
import { PROTOCOL_VERSION } from '@/lib/protocol/events';
import { createClientSocket, hello } from '@/lib/realtime/client-socket';

/** Health is re-read this often while the page is open. */
const HEALTH_REFRESH_MS = 15_000;

type SocketState =
  | { status: 'connecting' }
  | { status: 'connected'; latencyMs: number; serverVersion: string }
  | { status: 'disconnected'; reason: string }
  | { status: 'incompatible'; reason: string };

type HealthState = { status: 'loading' } | { status: 'ok'; health: Health } | { status: 'error'; reason: string };

export function StatusPanel() {
  const socketState = useSocketState();
  const healthState = useHealth();
  const health = healthState.status === 'ok' ? healthState.health : undefined;

  return (
    <section className="panel" aria-labelledby="status-title">
      <div className="panel-head">
        <h2 id="status-title">Server status</h2>
        <Pill
          tone={socketState.status === 'connected' ? 'good' : socketState.status === 'connecting' ? 'wait' : 'bad'}
          testId="socket-status"
        >
          {socketState.status}
        </Pill>
      </div>

      <dl className="facts">
        <Fact label="Realtime">
          {socketState.status === 'connected' && (
            <>
              Socket.IO, protocol v{PROTOCOL_VERSION} <span className="muted">· {socketState.latencyMs} ms round trip</span>
            </>
          )}
          {socketState.status === 'connecting' && <span className="muted">connecting…</span>}
          {(socketState.status === 'disconnected' || socketState.status === 'incompatible') && (
            <span className="bad-text">{socketState.reason}</span>
          )}
        </Fact>

        <Fact label="Engine">
          {health ? (
            <>
              <span data-testid="engine-backend" className="mono">
                {health.engine.backend}
              </span>
              <span className="muted">
                {' '}
                · TF.js {health.engine.tfBackend} backend
                {health.engine.customKernels.length > 0 && `, ${health.engine.customKernels.length} custom kernels`}
              </span>
              {health.engine.skipped.length > 0 && (
                <span className="note" title={health.engine.skipped.map((s) => `${s.backend}: ${s.reason}`).join('\n')}>
                  tried first: {health.engine.skipped.map((s) => s.backend).join(', ')} (not available here)
                </span>
              )}
            </>
          ) : (
            <HealthPlaceholder state={healthState} />
          )}
        </Fact>

        <Fact label="Models">
          {health ? (
            health.models.length > 0 ? (
              <ul className="models">
                {health.models.map((m) => (
                  <li key={m.id}>
                    <span className="mono">{m.id}</span>{' '}
                    <span className="muted">
                      {m.family}, z ∈ ℝ<sup>{m.latentDim}</sup>
                    </span>
                  </li>
                ))}
              </ul>
            ) : (
              <span className="muted">none loaded yet</span>
            )
          ) : (
            <HealthPlaceholder state={healthState} />
          )}
        </Fact>

        <Fact label="Database">
          {health ? (
            <span data-testid="database-status">
              <span className="mono">{health.database.kind}</span>{' '}
              {health.database.ok ? <span className="good-text">ok</span> : <span className="bad-text">not answering</span>}
            </span>
          ) : (
            <HealthPlaceholder state={healthState} />
          )}
        </Fact>

        <Fact label="Version">
          {health ? <span className="mono">{health.version}</span> : <HealthPlaceholder state={healthState} />}
        </Fact>
      </dl>
    </section>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Pill({ tone, testId, children }: { tone: 'good' | 'wait' | 'bad'; testId: string; children: ReactNode }) {
  return (
    <span className={`pill pill-${tone}`} data-testid={testId} role="status">
      <span className="dot" aria-hidden="true" />
      {children}
    </span>
  );
}

function HealthPlaceholder({ state }: { state: HealthState }) {
  if (state.status === 'error') return <span className="bad-text">{state.reason}</span>;
  return <span className="muted">loading…</span>;
}

function useSocketState(): SocketState {
  const [state, setState] = useState<SocketState>({ status: 'connecting' });
  useEffect(() => {
    const socket = createClientSocket();
    const onConnect = async () => {
      const sentAt = performance.now();
      try {
        const res = await hello(socket);
        if (res.ok) {
          setState({
            status: 'connected',
            latencyMs: Math.round(performance.now() - sentAt),
            serverVersion: res.data.serverVersion,
          });
        } else {
          setState({ status: 'incompatible', reason: res.message ?? res.error });
        }
      } catch {
        setState({ status: 'disconnected', reason: 'the server did not answer the handshake' });
      }
    };
    socket.on('connect', () => void onConnect());
    socket.on('disconnect', (reason) => setState({ status: 'disconnected', reason }));
    socket.on('connect_error', (err) => setState({ status: 'disconnected', reason: err.message }));
    return () => {
      socket.removeAllListeners();
      socket.disconnect();
    };
  }, []);
  return state;
}

function useHealth(): HealthState {
  const [state, setState] = useState<HealthState>({ status: 'loading' });
  useEffect(() => {
    let cancelled = false;
    const load = async () => {
      try {
        const res = await fetch(HEALTH_PATH, { cache: 'no-store' });
        // 503 still carries a health body (something is down); parse it either way.
        const parsed = HealthSchema.safeParse(await res.json());
        if (cancelled) return;
        setState(parsed.success ? { status: 'ok', health: parsed.data } : { status: 'error', reason: 'unexpected health response' });
      } catch {
        if (!cancelled) setState({ status: 'error', reason: 'health check unreachable' });
      }
    };
    void load();
    const timer = setInterval(() => void load(), HEALTH_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, []);
  return state;
}
