import type { Metadata } from 'next';
import { ImportForm } from '@/components/import/import-form';

export const metadata: Metadata = {
  title: 'Import a model · Latentroom',
  description: 'Upload a TF.js generator (model.json and weights, or a zip) to explore it in shared rooms.',
};

export default function ImportPage() {
  return (
    <main className="page">
      <header className="hero">
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Import a model
        </h1>
        <p className="tagline">
          Bring a generator trained elsewhere: a TF.js LayersModel or GraphModel, as model.json with its weight files or one zip.
          It is checked before it is loaded, gets a model card and a first sample grid, and can then be explored in rooms like the
          built-in models. <a href="/">Back to the start page</a>
        </p>
      </header>
      <ImportForm />
    </main>
  );
}
