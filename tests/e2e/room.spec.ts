/**
 * Two people in one room, one browser context each (tldraw's e2e style), waiting on app state
 * (the store's versions and the 3D view's figures through window.__latentroom), never on sleeps:
 *
 * - A creates a room from the start page and steers; B (editor link, on a phone-sized screen)
 *   sees the image change (frame version and pixels) and A's avatar move (its probe position);
 * - the 3D view draws the model's point cloud (points in the draw range, draw calls made);
 * - a viewer link cannot steer: controls disabled with the reason, and an op forced past the UI
 *   is answered `forbidden` and consumes no version (SPEC E3, E6);
 * - a bookmark saved in A appears in B and opens by its permalink, with image and provenance.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { createRoomFromHome, hook, person, screenshot } from './support';

const MODEL = 'vae-mnist';
/** The point cloud is computed on first use (a child process encodes 1,000 held-out digits). */
const POINTS_TIMEOUT_MS = 120_000;

/** True once both members' rooms show the same version (ops may still be landing: poll it). */
const sameVersion = async (x: Page, y: Page) => (await hook(x, 'roomVersion')) === (await hook(y, 'roomVersion'));

const frameData = (page: Page) => page.getByTestId('frame').evaluate((c) => (c as HTMLCanvasElement).toDataURL());

test('two members steer one room together; a viewer cannot; bookmarks travel to a permalink', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const a = await person(browser, baseURL!, 'Ada', { width: 1440, height: 900 });
  const b = await person(browser, baseURL!, 'Bo', { width: 390, height: 844 });

  // A creates the room from the start page and lands in it as its editor.
  await a.page.goto('/');
  await createRoomFromHome(a.page, MODEL);
  const editorLink = await a.page.getByTestId('editor-link').inputValue();
  const viewerLink = await a.page.getByTestId('viewer-link').inputValue();
  expect(editorLink).toMatch(/#t=[A-Za-z0-9_-]{20,}$/);
  expect(viewerLink).not.toBe(editorLink);

  // B joins with the editor link and sees the room's first image.
  await b.page.goto(editorLink);
  await expect(b.page.getByTestId('connection')).toHaveText('live');
  await expect(b.page.getByTestId('members')).toContainText('Ada');
  await expect(a.page.getByTestId('members')).toContainText('Bo');
  await expect.poll(() => hook(b.page, 'lastFrameVersion')).toBeGreaterThanOrEqual(0);
  const before = { version: (await hook(b.page, 'lastFrameVersion'))!, pixels: await frameData(b.page) };

  // The 3D view renders the point cloud (read from the renderer, not from pixels).
  await expect.poll(() => hook(a.page, 'pointCount'), { timeout: POINTS_TIMEOUT_MS }).toBeGreaterThan(0);
  await expect.poll(() => hook(a.page, 'drawCalls')).toBeGreaterThan(0);
  expect(await hook(a.page, 'renderedFrames')).toBeGreaterThan(0);

  // A steers: B's image changes.
  await a.page.getByTestId('random').click();
  await expect.poll(() => hook(b.page, 'lastFrameVersion')).toBeGreaterThan(before.version);
  await expect.poll(() => frameData(b.page)).not.toBe(before.pixels);
  await expect(a.page.getByTestId('latency')).toContainText(/op→frame \d+ ms/);
  // The room's z moved in B's view too (its marker follows the shared state).
  await expect.poll(() => sameVersion(a.page, b.page)).toBe(true);

  // Keyboard and drag steering in the 3D view (back-projected through the PCA basis).
  const beforeKeys = (await hook(a.page, 'roomVersion'))!;
  await a.page.getByTestId('scene').focus();
  await a.page.keyboard.press('ArrowRight');
  await expect.poll(() => hook(a.page, 'roomVersion')).toBe(beforeKeys + 1);
  await a.page.getByRole('button', { name: 'Steer by dragging' }).click();
  const stage = (await a.page.getByTestId('scene').boundingBox())!;
  await a.page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2);
  await a.page.mouse.down();
  await a.page.mouse.move(stage.x + stage.width / 2 + 60, stage.y + stage.height / 2 - 40, { steps: 5 });
  await a.page.mouse.up();
  await expect.poll(() => hook(a.page, 'roomVersion')).toBeGreaterThan(beforeKeys + 1);
  await expect.poll(() => sameVersion(a.page, b.page)).toBe(true);
  await a.page.getByRole('button', { name: 'Steer by dragging' }).click();

  // A points in the 3D view: B sees A's avatar, and sees it move when A's pointer moves.
  await b.page.getByTestId('scene').scrollIntoViewIfNeeded();
  const scene = a.page.getByTestId('scene');
  await scene.hover({ position: { x: 200, y: 160 } });
  await expect.poll(async () => Object.keys((await hook(b.page, 'probes')) ?? {}).length).toBe(1);
  const first = Object.values((await hook(b.page, 'probes'))!)[0]!;
  await scene.hover({ position: { x: 520, y: 330 } });
  await expect
    .poll(async () => {
      const now = Object.values((await hook(b.page, 'probes')) ?? {})[0];
      return now ? Math.hypot(now[0] - first[0], now[1] - first[1], now[2] - first[2]) : 0;
    })
    .toBeGreaterThan(0.05);

  // A bookmark saved in A appears in B.
  await a.page.getByTestId('bookmark-name').fill('a fine digit');
  await a.page.getByRole('textbox', { name: 'Tags (comma-separated)' }).fill('e2e, digit');
  await a.page.getByRole('button', { name: 'Save the current latent' }).click();
  await expect(a.page.getByTestId('bookmarks')).toContainText('a fine digit');
  await expect(b.page.getByTestId('bookmarks')).toContainText('a fine digit');
  // Its marker is drawn in both 3D views.
  await expect.poll(() => hook(a.page, 'markerCount')).toBe(1);
  await expect.poll(() => hook(b.page, 'markerCount')).toBe(1);

  // A second bookmark, then the strip between the two: a step sends a slerp (a new version).
  const beforeSecond = (await hook(a.page, 'roomVersion'))!;
  await a.page.getByTestId('random').click();
  await expect.poll(() => hook(a.page, 'roomVersion')).toBe(beforeSecond + 1);
  await a.page.getByTestId('bookmark-name').fill('another digit');
  await a.page.getByRole('button', { name: 'Save the current latent' }).click();
  await expect(b.page.getByTestId('bookmarks')).toContainText('another digit');
  await a.page.getByRole('tab', { name: 'Interpolate' }).click();
  await a.page.getByRole('combobox', { name: 'from bookmark' }).selectOption({ label: 'a fine digit' });
  await a.page.getByRole('combobox', { name: 'to bookmark' }).selectOption({ label: 'another digit' });
  const strip = a.page.getByRole('list', { name: 'interpolation steps' }).locator('img');
  await expect(strip).toHaveCount(7);
  for (const img of await strip.all()) await expect.poll(() => img.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(28);
  await a.page.getByRole('button', { name: 'go to t = 0.50' }).click();
  await expect.poll(() => hook(a.page, 'roomVersion')).toBe(beforeSecond + 2);
  await screenshot(a.page, 'room-interpolate.png');
  // The arithmetic builder sends one weighted sum: z ← z − another digit + a fine digit.
  await a.page.getByRole('tab', { name: 'Arithmetic' }).click();
  await a.page.getByRole('button', { name: 'Add term' }).click();
  await a.page.getByRole('button', { name: 'Add term' }).click();
  await a.page.getByRole('combobox', { name: 'vector of term 2' }).selectOption({ label: 'another digit' });
  await a.page.getByRole('combobox', { name: 'sign of term 2' }).selectOption('-');
  await a.page.getByRole('combobox', { name: 'vector of term 3' }).selectOption({ label: 'a fine digit' });
  await expect(a.page.getByText('z ← z (current) − another digit + a fine digit')).toBeVisible();
  await a.page.getByRole('button', { name: 'Apply' }).click();
  await expect.poll(() => hook(b.page, 'roomVersion')).toBe(beforeSecond + 3);

  await a.page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(a.page, 'room.png', false);
  // The phone-sized page fits its width (nothing scrolls sideways).
  expect(await b.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(b.page, 'room-phone.png');

  // B opens it by its permalink: the image and its provenance.
  const permalink = await b.page.getByTestId('bookmarks').getByRole('link', { name: 'Permalink' }).first().getAttribute('href');
  expect(permalink).toMatch(/^\/b\/[0-9a-f-]{36}$/);
  await b.page.setViewportSize({ width: 1280, height: 800 });
  await b.page.goto(permalink!);
  await expect(b.page.getByTestId('bookmark-title')).toHaveText('a fine digit');
  await expect(b.page.getByTestId('provenance')).toContainText(MODEL);
  await expect(b.page.getByTestId('provenance')).toContainText('psi');
  await expect.poll(() => b.page.getByTestId('bookmark-image').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(28);
  await screenshot(b.page, 'bookmark.png');
  // "Open in a new room": a new room whose state is the bookmark's.
  const bookmarkZ = await b.page.evaluate(async (url) => ((await (await fetch(url)).json()) as { bookmark: { z: number[] } }).bookmark.z, `/api${permalink!.replace('/b/', '/bookmarks/')}`);
  await b.page.getByRole('button', { name: 'Open in a new room' }).click();
  await b.page.waitForURL(/\/rooms\/[A-Za-z0-9_-]+#t=/);
  await expect(b.page.getByTestId('connection')).toHaveText('live');
  await expect.poll(() => hook(b.page, 'roomZ')).toEqual(bookmarkZ);
  expect(b.page.url()).not.toContain(editorLink.split('#')[0]!.split('/rooms/')[1]!);

  // A viewer: every control disabled, with why; a forced op is refused and changes nothing.
  const c = await person(browser, baseURL!, 'Cy', { width: 1280, height: 800 });
  await c.page.goto(viewerLink);
  await expect(c.page.getByTestId('connection')).toHaveText('live');
  await expect(c.page.getByTestId('viewer-note')).toBeVisible();
  await expect(c.page.getByTestId('random')).toBeDisabled();
  await expect(c.page.getByTestId('psi')).toBeDisabled();
  await expect(c.page.getByTestId('bookmark-name')).toBeDisabled();
  const versionBefore = (await hook(a.page, 'roomVersion'))!;
  const forced = await c.page.evaluate(() => window.__latentroom!.forceOp!({ kind: 'random', seed: 123 }));
  expect(forced).toMatchObject({ ok: false, error: 'forbidden' });
  // No version was used by the refused op: A's next op gets the very next one.
  const next = await a.page.evaluate(() => window.__latentroom!.forceOp!({ kind: 'psi', psi: 0.8 }));
  expect(next).toEqual({ ok: true, data: { version: versionBefore + 1 } });
  await expect.poll(() => hook(c.page, 'roomVersion')).toBe(versionBefore + 1);

  // The start page lists the room among this browser's rooms.
  await a.page.goto('/');
  await expect(a.page.getByRole('region', { name: 'Your rooms' })).toContainText('MNIST VAE room');
  await a.page.goBack();
  await expect(a.page.getByTestId('connection')).toHaveText('live');

  // UMAP, computed in a web worker from the cloud's latents, replaces the PCA layout.
  await a.page.getByRole('radio', { name: 'UMAP' }).check();
  await expect.poll(() => hook(a.page, 'projection'), { timeout: 120_000 }).toBe('umap');
  await expect.poll(() => hook(a.page, 'pointCount')).toBeGreaterThan(0);

  for (const p of [a, b, c]) expect(p.errors).toEqual([]);
  await Promise.all([a.context.close(), b.context.close(), c.context.close()]);
});
