/**
 * The room's history in the UI (SPEC O12–O15; issue 8: "replayed from its log (the UI can scrub
 * through it), undone and redone across members, and branched"), one browser context per
 * person, waiting on app state (window.__latentroom and the page), never on sleeps:
 *
 * - A makes ops, opens History and scrubs back: a preview of the past image, marked as such,
 *   and the room does not change for anyone (B's version and z stay);
 * - A reverts to an earlier version: B's room moves to that version's state as a new version;
 *   Undo brings the state before the revert back, for B too;
 * - a viewer sees the history and can scrub, but Revert and Branch are disabled, with why;
 * - A branches from an old version: a new room opens (editor link) whose z is that version's.
 */
import type { Locator, Page } from '@playwright/test';
import type { LatentOp } from '../../lib/protocol/rooms';
import { expect, test } from './fixtures';
import { createRoomFromHome, hook, person, screenshot } from './support';

const MODEL = 'vae-mnist';

/** Sends an op past the UI and waits until this page's room shows the version it produced. */
async function op(page: Page, o: LatentOp): Promise<number> {
  const res = await page.evaluate((x) => window.__latentroom!.forceOp!(x), o);
  if (!res.ok) throw new Error(`op refused: ${JSON.stringify(res)}`);
  await expect.poll(() => hook(page, 'roomVersion')).toBe(res.data.version);
  return res.data.version;
}

/** RGBA pixels of an <img> or a <canvas>, drawn at its own size. */
const pixels = (el: Locator) =>
  el.evaluate((node) => {
    const src = node as HTMLImageElement | HTMLCanvasElement;
    const [w, h] = src instanceof HTMLImageElement ? [src.naturalWidth, src.naturalHeight] : [src.width, src.height];
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(src, 0, 0);
    return Array.from(ctx.getImageData(0, 0, w, h).data);
  });

const roomIdOf = (url: string) => /\/rooms\/([A-Za-z0-9_-]+)/.exec(url)?.[1];

test('history: scrub without changing the room, revert for everyone, undo it, viewers only look, branch a new room', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const a = await person(browser, baseURL!, 'Ada', { width: 1280, height: 900 });
  const b = await person(browser, baseURL!, 'Bo', { width: 390, height: 844 });

  await a.page.goto('/');
  await createRoomFromHome(a.page, MODEL);
  const roomId = roomIdOf(a.page.url())!;
  const editorLink = await a.page.getByTestId('editor-link').inputValue();
  const viewerLink = await a.page.getByTestId('viewer-link').inputValue();
  await b.page.goto(editorLink);
  await expect(b.page.getByTestId('connection')).toHaveText('live');

  // A makes several ops; the z of each version, as every member received it.
  const zAt: Record<number, number[]> = { 0: (await hook(a.page, 'roomZ'))! };
  expect(await hook(a.page, 'roomVersion')).toBe(0);
  for (const o of [{ kind: 'random', seed: 11 }, { kind: 'psi', psi: 0.6 }, { kind: 'random', seed: 22 }] as const) {
    const v = await op(a.page, o);
    zAt[v] = (await hook(a.page, 'roomZ'))!;
  }
  expect(zAt[1]).not.toEqual(zAt[3]);
  await expect.poll(() => hook(b.page, 'roomVersion')).toBe(3);
  expect(await hook(b.page, 'roomZ')).toEqual(zAt[3]);

  // A opens History: every version listed, newest first, with its op and who made it.
  await a.page.getByTestId('history-toggle').click();
  const list = a.page.getByTestId('history-list');
  await expect(list.getByRole('listitem')).toHaveCount(4);
  await expect(list.getByRole('listitem').first()).toContainText('v3');
  await expect(list.getByRole('listitem').first()).toContainText('random sample');
  await expect(list.getByRole('listitem').first()).toContainText('Ada');
  await expect(list.getByRole('listitem').nth(1)).toContainText('truncation psi');
  await expect(list.getByRole('listitem').last()).toContainText('room created');
  await expect(a.page.getByTestId('history-revert')).toBeDisabled();

  // Scrubbing back with the keyboard previews v1, marked as a preview, without changing the room.
  const scrubber = a.page.getByRole('slider', { name: /Scrub the history/ });
  await scrubber.focus();
  await a.page.keyboard.press('ArrowLeft');
  await a.page.keyboard.press('ArrowLeft');
  const preview = a.page.getByTestId('history-preview');
  await expect(preview).toHaveAttribute('data-version', '1');
  await expect(preview).toContainText('Preview of v1, not live');
  await expect(a.page.getByTestId('history-preview-image')).toHaveAttribute('data-loaded', 'true');
  await expect.poll(() => a.page.getByTestId('history-preview-image').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(28);
  // The live image is still the room's newest frame, and nobody's room moved.
  await expect(a.page.getByTestId('frame-version')).toContainText('image v3');
  expect(await hook(a.page, 'roomVersion')).toBe(3);
  expect(await hook(b.page, 'roomVersion')).toBe(3);
  expect(await hook(b.page, 'roomZ')).toEqual(zAt[3]);
  // The 3D view marks the previewed version apart from the live z (once its cloud is drawn).
  await expect.poll(() => hook(a.page, 'pointCount'), { timeout: 120_000 }).toBeGreaterThan(0);
  await expect.poll(async () => (await hook(a.page, 'previewAt'))?.length).toBe(3);
  expect(await hook(a.page, 'previewAt')).not.toEqual(await hook(a.page, 'current'));
  // Escape goes back to live; the preview goes away, in the 3D view too.
  await scrubber.press('Escape');
  await expect(preview).toHaveCount(0);
  await expect.poll(() => hook(a.page, 'previewAt')).toBeNull();
  await scrubber.press('ArrowLeft');
  await scrubber.press('ArrowLeft');
  await expect(preview).toHaveAttribute('data-version', '1');
  await screenshot(a.page, 'room-history.png');

  // Revert to v1: a new version (4) with v1's state, for B too.
  await a.page.getByRole('button', { name: 'Revert to v1' }).click();
  await expect.poll(() => hook(b.page, 'roomVersion')).toBe(4);
  expect(await hook(b.page, 'roomZ')).toEqual(zAt[1]);
  await expect(a.page.getByTestId('history-outcome')).toContainText('Reverted to v1');
  await expect(preview).toHaveCount(0);
  // The preview of v1 is the image the room streams for v1's state (v4's now): same render path.
  await expect(a.page.getByTestId('frame-version')).toContainText('image v4');
  await list.getByRole('button', { name: /^v1/ }).click();
  await expect(a.page.getByTestId('history-preview-image')).toHaveAttribute('data-loaded', 'true');
  const previewPixels = await pixels(a.page.getByTestId('history-preview-image'));
  expect(previewPixels).toHaveLength(28 * 28 * 4);
  expect(previewPixels).toEqual(await pixels(a.page.getByTestId('frame')));
  await a.page.getByRole('button', { name: 'Back to live' }).click();
  await expect(preview).toHaveCount(0);
  // The list follows the new version.
  await expect(list.getByRole('listitem').first()).toContainText('v4');
  await expect(list.getByRole('listitem').first()).toContainText('revert');
  // Undo takes the revert back: v5 has v3's state.
  await a.page.getByRole('button', { name: 'Undo', exact: true }).click();
  await expect.poll(() => hook(b.page, 'roomVersion')).toBe(5);
  expect(await hook(b.page, 'roomZ')).toEqual(zAt[3]);
  await expect(list.getByRole('listitem').first()).toContainText('undo');

  // B, on a phone-sized screen, opens the history too: it fits the width.
  await b.page.getByTestId('history-toggle').click();
  await expect(b.page.getByTestId('history-list').getByRole('listitem')).toHaveCount(6);
  await b.page.getByTestId('history-list').getByRole('button', { name: /^v2/ }).click();
  await expect(b.page.getByTestId('history-preview')).toHaveAttribute('data-version', '2');
  await expect(b.page.getByTestId('history-preview-image')).toHaveAttribute('data-loaded', 'true');
  await expect.poll(() => b.page.getByTestId('history-preview-image').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(28);
  expect(await b.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await b.page.getByTestId('history').scrollIntoViewIfNeeded();
  await screenshot(b.page, 'room-history-phone.png', false);

  // A viewer sees the history and can scrub, but cannot revert or branch, and is told why.
  const c = await person(browser, baseURL!, 'Cy', { width: 1280, height: 800 });
  await c.page.goto(viewerLink);
  await expect(c.page.getByTestId('connection')).toHaveText('live');
  await c.page.getByTestId('history-toggle').click();
  await expect(c.page.getByTestId('history-list').getByRole('listitem')).toHaveCount(6);
  await c.page.getByTestId('history-list').getByRole('button', { name: /^v1/ }).click();
  await expect(c.page.getByTestId('history-preview')).toHaveAttribute('data-version', '1');
  await expect(c.page.getByTestId('history-revert')).toBeDisabled();
  await expect(c.page.getByTestId('history-branch')).toBeDisabled();
  await expect(c.page.getByTestId('history-why')).toContainText('for editors');
  await c.page.getByTestId('history').scrollIntoViewIfNeeded();
  await screenshot(c.page, 'room-history-viewer.png', false);
  expect(await hook(a.page, 'roomVersion')).toBe(5);

  // A branches from v1: a new room opens with its editor link, starting at v1's state.
  await a.page.getByTestId('history-list').getByRole('button', { name: /^v1/ }).click();
  await a.page.getByRole('button', { name: 'Branch from v1' }).click();
  await a.page.waitForURL((url) => /\/rooms\/[A-Za-z0-9_-]+$/.test(url.pathname) && roomIdOf(url.href) !== roomId && url.hash.startsWith('#t='));
  await expect(a.page.getByTestId('connection')).toHaveText('live');
  await expect.poll(() => hook(a.page, 'roomVersion')).toBe(0);
  expect(await hook(a.page, 'roomZ')).toEqual(zAt[1]);
  await expect(a.page.getByRole('heading', { level: 1 })).toContainText('from v1');
  // An editor there (the branch's editor link): the controls are enabled.
  await expect(a.page.getByTestId('random')).toBeEnabled();
  // The source room did not change.
  expect(await hook(b.page, 'roomVersion')).toBe(5);

  // A long log is paged (room:history's `before`): the newest 100 versions, then the older ones.
  for (let i = 1; i <= 104; i++) await a.page.evaluate((psi) => window.__latentroom!.forceOp!({ kind: 'psi', psi }), i % 2 ? 0.9 : 0.8);
  await expect.poll(() => hook(a.page, 'roomVersion')).toBe(104);
  await a.page.getByTestId('history-toggle').click();
  const branchList = a.page.getByTestId('history-list').getByRole('listitem');
  await expect(branchList).toHaveCount(100);
  await expect(branchList.first()).toContainText('v104');
  await a.page.getByRole('button', { name: 'Load versions before v5' }).click();
  await expect(branchList).toHaveCount(105);
  await expect(branchList.last()).toContainText('room created');
  await expect(a.page.getByTestId('history-older')).toHaveCount(0);
  // The scrubber spans all of them: Home goes to the first version.
  await a.page.getByRole('slider', { name: 'Scrub the history' }).press('Home');
  await expect(a.page.getByTestId('history-preview')).toHaveAttribute('data-version', '0');

  for (const p of [a, b, c]) expect(p.errors).toEqual([]);
  await Promise.all([a.context.close(), b.context.close(), c.context.close()]);
});
