import type { Metadata } from 'next';
import { StatusPanel } from '@/components/status/status-panel';

export const metadata: Metadata = { title: 'Server status · Latentroom' };

export default function AboutPage() {
  return (
    <main className="page">
      <header className="hero">
        <h1 className="brand">
          <a href="/" className="home-link" aria-label="Latentroom home">
            <span className="brand-mark" aria-hidden="true" />
          </a>
          Server status
        </h1>
        <p className="tagline">What this Latentroom server runs on, live: the socket, the engine and its backend, the models, the database.</p>
      </header>
      <StatusPanel />
      <footer className="foot">
        <a href="/">Back to the models</a> · <a href="/import">Import a TF.js model</a>
      </footer>
    </main>
  );
}
