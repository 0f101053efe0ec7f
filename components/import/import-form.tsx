'use client';

/**
 * The import form: the model's files (loose or one zip), what the files cannot say (output range,
 * layout, latent size, classes...), an optional attribute classifier. Posts multipart to
 * /api/models/import and shows the server's error as it is, or the new model's card and its first
 * sample grid. Blank fields and "read from the model" choices are sent empty, which the server
 * treats as not given.
 */
import { useState, type FormEvent } from 'react';
import styles from './import-form.module.css';

type Result =
  | { status: 'idle' }
  | { status: 'sending' }
  | { status: 'error'; message: string }
  | { status: 'done'; model: { id: string; name: string; latentDim: number; imageShape: number[]; numClasses: number | null; evaluation: { status: string } } };

const IMPORT_URL = '/api/models/import';

export function ImportForm() {
  const [result, setResult] = useState<Result>({ status: 'idle' });

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setResult({ status: 'sending' });
    try {
      const res = await fetch(IMPORT_URL, { method: 'POST', body: new FormData(e.currentTarget) });
      const body = (await res.json().catch(() => ({ ok: false, error: `the server answered ${res.status}` }))) as
        | { ok: true; model: Extract<Result, { status: 'done' }>['model'] }
        | { ok: false; error: string };
      setResult(body.ok ? { status: 'done', model: body.model } : { status: 'error', message: `${res.status}: ${body.error}` });
    } catch (err) {
      setResult({ status: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }

  return (
    <section className="panel" aria-labelledby="import-title">
      <div className="panel-head">
        <h2 id="import-title">Model files</h2>
      </div>
      <form className={styles.form} onSubmit={submit} encType="multipart/form-data" aria-describedby="import-status">
        <div className={styles.row}>
          <label htmlFor="import-name">Name</label>
          <input id="import-name" name="name" required maxLength={80} placeholder="My Fashion-MNIST decoder" />
        </div>
        <div className={styles.row}>
          <label htmlFor="import-model">Generator files</label>
          <input id="import-model" name="model" type="file" multiple required accept=".json,.bin,.zip,application/json,application/zip,application/octet-stream" />
          <span className={styles.hint}>model.json and its weight files (e.g. group1-shard1of1.bin), or one .zip holding them.</span>
        </div>

        <fieldset className={styles.group}>
          <legend className={styles.legend}>What the files cannot say</legend>
          <div className={styles.row}>
            <label htmlFor="import-range">Output range</label>
            <select id="import-range" name="outputRange" defaultValue="">
              <option value="">read from the last layer</option>
              <option value="tanh">tanh: [-1, 1]</option>
              <option value="sigmoid">sigmoid: [0, 1]</option>
            </select>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-layout">Output layout</label>
            <select id="import-layout" name="layout" defaultValue="">
              <option value="">read from the output shape</option>
              <option value="nhwc">NHWC (channels last)</option>
              <option value="nchw">NCHW (channels first, e.g. from PyTorch)</option>
              <option value="flat">flat (height × width × channels values)</option>
            </select>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-shape">Image shape (flat outputs)</label>
            <input id="import-shape" name="imageShape" placeholder="28,28,1" pattern="\s*\d+\s*[,x×]\s*\d+\s*[,x×]\s*\d+\s*" />
          </div>
          <div className={styles.row}>
            <label htmlFor="import-channels">Channel order</label>
            <select id="import-channels" name="channelOrder" defaultValue="">
              <option value="">RGB</option>
              <option value="bgr">BGR</option>
            </select>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-latent">Latent size</label>
            <input id="import-latent" name="latentDim" type="number" min={1} max={4096} placeholder="read from the input shape" />
          </div>
        </fieldset>

        <fieldset className={styles.group}>
          <legend className={styles.legend}>Conditional models</legend>
          <div className={styles.row}>
            <label htmlFor="import-classes">Number of classes</label>
            <input id="import-classes" name="numClasses" type="number" min={2} max={1000} placeholder="leave empty if unconditional" />
          </div>
          <div className={styles.row}>
            <label htmlFor="import-class-input">How the class is fed</label>
            <select id="import-class-input" name="classInput" defaultValue="">
              <option value="">unconditional</option>
              <option value="concat">one-hot, joined to z in one input</option>
              <option value="onehot">one-hot, a second input</option>
              <option value="label">class index, a second input</option>
            </select>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-latent-input">Which input takes z (two-input models)</label>
            <select id="import-latent-input" name="latentInput" defaultValue="">
              <option value="">read from the input shapes</option>
              <option value="0">the first</option>
              <option value="1">the second</option>
            </select>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-class-names">Class names</label>
            <input id="import-class-names" name="classNames" placeholder="comma-separated, one per class" />
          </div>
        </fieldset>

        <fieldset className={styles.group}>
          <legend className={styles.legend}>Optional</legend>
          <div className={styles.row}>
            <label htmlFor="import-id">Model id</label>
            <input id="import-id" name="id" pattern="[a-z0-9][a-z0-9\-]{0,62}" placeholder="made from the name" />
          </div>
          <div className={styles.row}>
            <label htmlFor="import-dataset">Evaluate on</label>
            <select id="import-dataset" name="dataset" defaultValue="">
              <option value="">no data set</option>
              <option value="mnist">MNIST</option>
              <option value="shapes32">shapes, 32 px</option>
              <option value="shapes64">shapes, 64 px</option>
            </select>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-classifier">Attribute classifier files</label>
            <input id="import-classifier" name="classifier" type="file" multiple accept=".json,.bin,.zip,application/json,application/zip,application/octet-stream" />
            <span className={styles.hint}>A TF.js model taking the generator&apos;s images, one output per attribute, for the direction tools.</span>
          </div>
          <div className={styles.row}>
            <label htmlFor="import-classifier-labels">Classifier output names</label>
            <input id="import-classifier-labels" name="classifierLabels" placeholder="comma-separated" />
          </div>
          <div className={styles.row}>
            <label htmlFor="import-source">Source</label>
            <input id="import-source" name="source" maxLength={500} placeholder="where the model comes from" />
          </div>
        </fieldset>

        <button className={styles.submit} type="submit" disabled={result.status === 'sending'}>
          {result.status === 'sending' ? 'Checking and importing…' : 'Import'}
        </button>
      </form>

      <div id="import-status" aria-live="polite">
        {result.status === 'error' && (
          <p className={styles.error} role="alert" data-testid="import-error">
            {result.message}
          </p>
        )}
        {result.status === 'done' && (
          <div className={styles.done} data-testid="import-done">
            <p>
              Imported <span className="mono">{result.model.id}</span>: z ∈ ℝ<sup>{result.model.latentDim}</sup>, images {result.model.imageShape.join(' × ')}
              {result.model.numClasses ? `, ${result.model.numClasses} classes` : ''}; evaluation {result.model.evaluation.status}.
            </p>
            {/* A PNG the server just wrote: a plain img (next/image would add nothing here). */}
            <img className={styles.grid} src={`/api/models/${result.model.id}/samples.png`} alt={`First sample grid of ${result.model.name}`} />
          </div>
        )}
      </div>
    </section>
  );
}
