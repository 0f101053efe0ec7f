/**
 * Finding directions and steering toward an attribute from the room page (SPEC D1–D7), with one
 * browser context per member, waiting on app state (never on sleeps):
 *
 * - A (editor, desktop) fills the "Find directions" form: a value the schema refuses is not sent,
 *   a request the server refuses (PCA over encoded images on a DCGAN) shows the server's reason
 *   and adds nothing; a SeFa job then runs, shows its progress, and its directions appear in
 *   B's sliders (editor link, phone-sized) with their score badges, and so does a conditional
 *   direction made from them;
 * - A steers toward the digit 7: the ack's figures show in A, and B's room moves to that version
 *   with another z;
 * - a viewer sees the form disabled with the reason, and a discovery forced past the UI is
 *   answered `forbidden`.
 */
import { expect, test } from './fixtures';
import { createRoomFromHome, hook, person, screenshot } from './support';

/** A shipped model with a classifier for its images (classifier-mnist). */
const MODEL = 'dcgan-mnist';
/** The directions worker starts at its first request and loads the model and its classifier. */
const JOB_TIMEOUT_MS = 120_000;

test('an editor finds directions and steers toward a digit; another member sees both; a viewer cannot', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  const a = await person(browser, baseURL!, 'Ada', { width: 1440, height: 900 });
  const b = await person(browser, baseURL!, 'Bo', { width: 390, height: 844 });

  await a.page.goto('/');
  await createRoomFromHome(a.page, MODEL);
  const editorLink = await a.page.getByTestId('editor-link').inputValue();
  const viewerLink = await a.page.getByTestId('viewer-link').inputValue();
  await b.page.goto(editorLink);
  await expect(b.page.getByTestId('connection')).toHaveText('live');
  const directionsBefore = await b.page.getByTestId('direction').count();

  // The form: method, its parameters with the schema's defaults, the classifier's attributes.
  await a.page.getByTestId('find-directions').locator(':scope > summary').click();
  const method = a.page.getByRole('combobox', { name: 'Method', exact: true });
  await expect(method).toHaveValue('sefa');
  await expect(a.page.getByRole('spinbutton', { name: 'Components', exact: true })).toHaveValue('5');
  await method.selectOption('classifier-gradient');
  const attribute = a.page.getByRole('combobox', { name: 'Attribute', exact: true });
  await expect(attribute.locator('option:not([disabled])')).toHaveText(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await expect(a.page.getByRole('spinbutton', { name: 'Samples', exact: true })).toHaveValue('256');

  // A value the schema refuses is not sent (no job appears).
  await method.selectOption('sefa');
  await a.page.getByRole('spinbutton', { name: 'Components', exact: true }).fill('0');
  await a.page.getByTestId('discover-start').click();
  await expect(a.page.getByTestId('discover-invalid')).toContainText('Components: at least 1');
  await expect(a.page.getByRole('spinbutton', { name: 'Components', exact: true })).toHaveAttribute('aria-invalid', 'true');
  await expect(a.page.getByTestId('discover-status')).toHaveCount(0);

  // A request the server refuses shows its reason and adds nothing.
  await method.selectOption('pca');
  await a.page.getByRole('combobox', { name: 'Source', exact: true }).selectOption('encoded');
  await a.page.getByTestId('discover-start').click();
  await expect(a.page.getByTestId('discover-error')).toContainText(/encoder/);
  await expect(a.page.getByTestId('discover-status')).toHaveCount(0);

  // SeFa, two components, few scoring samples: progress, then the directions in B's sliders with scores.
  await method.selectOption('sefa');
  await a.page.getByRole('spinbutton', { name: 'Components', exact: true }).fill('2');
  await a.page.getByRole('textbox', { name: 'Direction name', exact: true }).fill('e2e sefa');
  await a.page.getByText('More settings').click();
  await a.page.getByRole('spinbutton', { name: 'Scoring samples', exact: true }).fill('8');
  await a.page.getByTestId('discover-start').click();
  await expect(a.page.getByTestId('discover-error')).toHaveCount(0);
  await expect(a.page.getByTestId('discover-status')).toBeVisible();
  await expect(a.page.getByTestId('discover-status')).toContainText('SeFa finished', { timeout: JOB_TIMEOUT_MS });
  const found = b.page.locator('[data-testid="direction"][data-direction-name="e2e sefa 1"]');
  await expect(found).toBeVisible();
  await expect(b.page.locator('[data-testid="direction"][data-direction-name="e2e sefa 2"]')).toBeVisible();
  await expect(b.page.getByTestId('direction')).toHaveCount(directionsBefore + 2);
  const badges = found.getByTestId('direction-scores').locator('li');
  await expect(badges.first()).toBeVisible();
  const flip = found.locator('[data-score="flip"]');
  await expect(flip).toHaveText(/^flip \d+%$/);
  await expect(flip).toHaveAttribute('title', /Flip rate: share of 8 sampled latents/);
  await expect(found.locator('[data-score="entanglement"]')).toHaveAttribute('title', /Entanglement/);

  // Nudging along the new direction moves the shared latent: B sees a new version, z and image.
  await expect.poll(() => hook(b.page, 'roomVersion')).toBe(await hook(a.page, 'roomVersion'));
  const beforeNudge = { version: (await hook(b.page, 'roomVersion'))!, z: (await hook(b.page, 'roomZ'))!, frame: (await hook(b.page, 'lastFrameVersion'))! };
  await a.page.getByRole('button', { name: 'nudge e2e sefa 1 by +0.5', exact: true }).click();
  await expect.poll(() => hook(b.page, 'roomVersion')).toBe(beforeNudge.version + 1);
  expect(await hook(b.page, 'roomZ')).not.toEqual(beforeNudge.z);
  await expect.poll(() => hook(b.page, 'lastFrameVersion')).toBeGreaterThan(beforeNudge.frame);

  // A conditional direction: the first SeFa direction with the second projected out (picked by name).
  await method.selectOption('conditional');
  await a.page.getByRole('combobox', { name: 'Direction', exact: true }).selectOption({ label: 'e2e sefa 1' });
  // The direction being kept is not offered as one to project out.
  await expect(a.page.getByRole('checkbox', { name: 'e2e sefa 1', exact: true })).toHaveCount(0);
  await a.page.getByRole('checkbox', { name: 'e2e sefa 2', exact: true }).check();
  await a.page.getByRole('textbox', { name: 'Direction name', exact: true }).fill('e2e cond');
  await a.page.getByRole('spinbutton', { name: 'Scoring samples', exact: true }).fill('8');
  await a.page.getByTestId('discover-start').click();
  await expect(a.page.getByTestId('discover-status')).toContainText('Conditional finished', { timeout: JOB_TIMEOUT_MS });
  const conditional = b.page.locator('[data-testid="direction"][data-direction-name="e2e cond"]');
  await expect(conditional).toContainText('conditional');
  await expect(conditional.locator('[data-score="flip"]')).toBeVisible();

  // Steer toward a digit: A sees the ack's figures; B the new version and another z. An edit
  // stops at once if the classifier already reads the digit with p >= 0.9 (0 steps, same z),
  // so it tries 7 and then 1: at most one of them can be that sure of the room's image.
  await a.page.getByTestId('steer-toward').locator(':scope > summary').click();
  let moved = false;
  for (const digit of ['7', '1']) {
    const zBefore = await hook(b.page, 'roomZ');
    const versionBefore = (await hook(b.page, 'roomVersion'))!;
    await a.page.getByTestId('steer-toward').getByRole('combobox', { name: 'Attribute', exact: true }).selectOption(digit);
    await a.page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('20');
    await expect(a.page.getByTestId('steer-submit')).toHaveText(`Steer toward ${digit}`);
    await a.page.getByTestId('steer-submit').click();
    const result = a.page.getByTestId('steer-result');
    await expect(result).toContainText(new RegExp(`“${digit}” \\(value \\d\\.\\d\\d\\) after \\d+ steps? · v(\\d+)`), { timeout: JOB_TIMEOUT_MS });
    await expect.poll(async () => Number(/· v(\d+)/.exec((await result.textContent()) ?? '')?.[1] ?? 0)).toBeGreaterThan(versionBefore);
    const text = (await result.textContent())!;
    const steeredVersion = Number(/· v(\d+)/.exec(text)![1]);
    const steps = Number(/after (\d+) step/.exec(text)![1]);
    await expect.poll(() => hook(b.page, 'roomVersion')).toBeGreaterThanOrEqual(steeredVersion);
    if (steps === 0) {
      expect(await hook(b.page, 'roomZ')).toEqual(zBefore);
      continue;
    }
    expect(await hook(b.page, 'roomZ')).not.toEqual(zBefore);
    moved = true;
    break;
  }
  expect(moved).toBe(true);
  // A steer the schema refuses is not sent.
  await a.page.getByRole('spinbutton', { name: 'Steps', exact: true }).fill('500');
  await a.page.getByTestId('steer-submit').click();
  await expect(a.page.getByTestId('steer-invalid')).toContainText('Steps: at most 200');

  await a.page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(a.page, 'room-directions.png');
  // The phone-sized page with the form open fits its width.
  await b.page.getByTestId('find-directions').locator(':scope > summary').click();
  await b.page.getByTestId('steer-toward').locator(':scope > summary').click();
  expect(await b.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(b.page, 'room-directions-phone.png');

  // A viewer: the form is disabled with the reason; a discovery forced past it is forbidden.
  const c = await person(browser, baseURL!, 'Cy', { width: 1280, height: 800 });
  await c.page.goto(viewerLink);
  await expect(c.page.getByTestId('connection')).toHaveText('live');
  await c.page.getByTestId('find-directions').locator(':scope > summary').click();
  await expect(c.page.getByTestId('discover-disabled')).toContainText('viewer link');
  await expect(c.page.getByTestId('discover-start')).toBeDisabled();
  await expect(c.page.getByRole('combobox', { name: 'Method', exact: true })).toBeDisabled();
  await c.page.getByTestId('steer-toward').locator(':scope > summary').click();
  await expect(c.page.getByTestId('steer-submit')).toBeDisabled();
  await screenshot(c.page, 'room-directions-viewer.png');
  const forced = await c.page.evaluate(() => window.__latentroom!.forceDiscover!({ method: 'sefa', params: { components: 1 } }));
  expect(forced).toMatchObject({ ok: false, error: 'forbidden' });
  await expect(c.page.getByTestId('direction')).toHaveCount(directionsBefore + 3);

  for (const p of [a, b, c]) expect(p.errors).toEqual([]);
  await Promise.all([a.context.close(), b.context.close(), c.context.close()]);
});
