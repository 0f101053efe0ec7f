'use client';

/** Starts a training job (POST /api/training-jobs) and links to the model's page, where it runs live. */
import { useState } from 'react';
import { useRouter } from 'next/navigation';

const FAMILIES = ['vae', 'dcgan', 'wgan', 'wgan-gp', 'cgan', 'vae-gan'] as const;
const DATASETS = ['mnist', 'shapes32', 'shapes64'] as const;

export function TrainForm() {
  const router = useRouter();
  const [family, setFamily] = useState<(typeof FAMILIES)[number]>('vae');
  const [dataset, setDataset] = useState<(typeof DATASETS)[number]>('mnist');
  const [modelId, setModelId] = useState('');
  const [steps, setSteps] = useState(500);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/training-jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ family, dataset, modelId: modelId.trim(), steps, sampleEvery: Math.max(10, Math.round(steps / 20)), progressEvery: Math.max(1, Math.round(steps / 200)) }),
      });
      const body = (await res.json()) as { ok: boolean; error?: string; job?: { id: string } };
      if (!res.ok || !body.ok || !body.job) {
        setError(body.error ?? `the server answered ${res.status}`);
        return;
      }
      router.push(`/models/${modelId.trim()}?job=${body.job.id}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card train-form" onSubmit={(e) => void submit(e)}>
      <div className="form-grid">
        <label className="field">
          <span>Family</span>
          <select value={family} onChange={(e) => setFamily(e.target.value as (typeof FAMILIES)[number])}>
            {FAMILIES.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Data set</span>
          <select value={dataset} onChange={(e) => setDataset(e.target.value as (typeof DATASETS)[number])}>
            {DATASETS.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Model id</span>
          <input value={modelId} onChange={(e) => setModelId(e.target.value.toLowerCase())} pattern="[a-z0-9][a-z0-9\-]{0,62}" required placeholder="my-vae" />
        </label>
        <label className="field">
          <span>Steps</span>
          <input type="number" min={1} max={1000000} value={steps} onChange={(e) => setSteps(Math.max(1, Math.floor(Number(e.target.value) || 1)))} />
        </label>
      </div>
      <p className="muted small">Jobs run one at a time in their own process; on this machine's CPU a VAE step on MNIST takes about half a second. The model page shows the losses, the samples and the ETA as it trains.</p>
      {error && (
        <p className="bad-text" role="alert">
          {error}
        </p>
      )}
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy || !modelId.trim()}>
          {busy ? 'Starting…' : 'Start training'}
        </button>
      </div>
    </form>
  );
}
