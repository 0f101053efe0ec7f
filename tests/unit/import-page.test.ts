/**
 * The import page (app/import/page.tsx), rendered to HTML on the server: every input has a label,
 * and every field it sends is one the import API reads (so a renamed option cannot silently drop
 * out of the form).
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import ImportPage from '../../app/import/page';
import { ImportOptionsSchema } from '../../server/import/options';

const html = renderToStaticMarkup(createElement(ImportPage));
const controls = [...html.matchAll(/<(input|select)\b([^>]*)>/g)].map((m) => m[2]!);
const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

describe('the import page', () => {
  it('labels every input', () => {
    expect(controls.length).toBeGreaterThan(10);
    for (const c of controls) {
      const id = attr(c, 'id');
      expect(id, c).toBeDefined();
      expect(html).toContain(`for="${id}"`);
    }
  });

  it('sends exactly the fields the API reads: files in model and classifier, the rest as options', () => {
    const names = controls.map((c) => attr(c, 'name')!);
    const files = controls.filter((c) => attr(c, 'type') === 'file').map((c) => attr(c, 'name'));
    expect(files).toEqual(['model', 'classifier']);
    const options = Object.keys(ImportOptionsSchema.shape).sort();
    expect(names.filter((n) => n !== 'model' && n !== 'classifier').sort()).toEqual(options);
  });

  it('has a place for the server’s error, announced to screen readers', () => {
    expect(html).toMatch(/id="import-status" aria-live="polite"/);
  });
});
