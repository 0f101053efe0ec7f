import { StatusPanel } from '@/components/status/status-panel';

export default function HomePage() {
  return (
    <main className="page">
      <header className="hero">
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Latentroom
        </h1>
        <p className="tagline">
          Explore the latent space of generative image models together, in real time, in shared rooms.
        </p>
      </header>
      <StatusPanel />
      <footer className="foot">
        The explorer is on its way. This page shows that the server, its engine and its database are up.{' '}
        <a href="/import">Import a TF.js model</a>
      </footer>
    </main>
  );
}
