'use client';

/**
 * The 3D view with its settings (projection, colouring), its legend and its loading and error
 * states. The view itself is ./point-cloud-view.tsx.
 */
import { useExplorer } from '@/components/providers/explorer-provider';
import { CLASS_COLORS, RAMP_CSS } from './colors';
import { PointCloudView } from './point-cloud-view';
import { useDirectionVectors, usePointCloud, useUmap } from './use-scene-data';

export function ScenePanel({ modelId, canSteer }: { modelId: string; canSteer: boolean }) {
  usePointCloud(modelId);
  useUmap();
  useDirectionVectors(modelId);
  const points = useExplorer((s) => s.points);
  const projection = useExplorer((s) => s.projection);
  const umap = useExplorer((s) => s.umap);
  const colorBy = useExplorer((s) => s.colorBy);
  const previewing = useExplorer((s) => s.historyPreview);
  const setProjection = useExplorer((s) => s.setProjection);
  const setColorBy = useExplorer((s) => s.setColorBy);
  const header = points.cloud?.header;

  return (
    <section className="card scene-card" aria-labelledby="scene-title">
      <div className="card-head">
        <h2 id="scene-title" className="card-title">
          Latent space
        </h2>
        <div className="row wrap">
          <fieldset className="segmented">
            <legend className="visually-hidden">projection</legend>
            {(['pca', 'umap'] as const).map((p) => (
              <label key={p} className={projection === p ? 'on' : ''}>
                <input type="radio" name="projection" value={p} checked={projection === p} onChange={() => setProjection(p)} disabled={!points.cloud} />
                {p.toUpperCase()}
              </label>
            ))}
          </fieldset>
          {header && (
            <label className="inline-field">
              <span>colour</span>
              <select value={colorBy} onChange={(e) => setColorBy(e.target.value)}>
                {header.labels && <option value="class">class</option>}
                {header.scores.map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name}
                  </option>
                ))}
                <option value="norm">|z|</option>
              </select>
            </label>
          )}
        </div>
      </div>
      <PointCloudView canSteer={canSteer} modelId={modelId} />
      <div className="scene-foot">
        {points.status === 'loading' && <span className="muted small">Computing the point cloud (once per model; up to a minute)…</span>}
        {points.status === 'error' && <span className="bad-text small">The point cloud could not be loaded: {points.error}</span>}
        {projection === 'umap' && umap.status === 'running' && (
          <span className="small">
            UMAP in a background worker… <progress max={1} value={umap.progress} aria-label="UMAP progress" />
          </span>
        )}
        {umap.status === 'error' && <span className="bad-text small">UMAP failed ({umap.error}); showing PCA.</span>}
        {header && (
          <>
            <span className="muted small">
              {header.count.toLocaleString()} points: {header.description}.{' '}
              {projection === 'pca' && `PCA explains ${(header.explained.reduce((a, b) => a + b, 0) * 100).toFixed(0)} % of their variance.`}
            </span>
            {colorBy === 'class' && header.labels ? (
              <ul className="legend" aria-label="class colours">
                {header.labels.names.map((n, i) => (
                  <li key={n}>
                    <span className="swatch" style={{ background: CLASS_COLORS[i % CLASS_COLORS.length] }} aria-hidden="true" />
                    {n}
                  </li>
                ))}
              </ul>
            ) : (
              <span className="ramp small">
                low <span className="ramp-bar" style={{ background: RAMP_CSS }} aria-hidden="true" /> high {colorBy === 'norm' ? '|z|' : colorBy}
              </span>
            )}
          </>
        )}
        <span className="legend-keys small muted">
          <span className="key key-current" aria-hidden="true" /> the room · <span className="key key-bookmark" aria-hidden="true" /> bookmarks · ◆ members
          {previewing !== null && (
            <>
              {' '}
              · <span className="key key-past" aria-hidden="true" /> v{previewing} (history preview)
            </>
          )}
        </span>
      </div>
    </section>
  );
}
