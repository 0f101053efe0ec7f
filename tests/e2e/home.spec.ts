/**
 * A person opens the printed URL: the start page lists the models with their cards and offers a
 * room for each; the server status (socket connected, engine backend, database) is on /about.
 */
import { HealthSchema } from '../../lib/protocol/health';
import { expect, test } from './fixtures';
import { screenshot } from './support';

for (const device of [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, file: 'home.png' },
  { name: 'phone', viewport: { width: 390, height: 844 }, file: 'home-phone.png' },
]) {
  test(`start page lists the models with a room for each (${device.name})`, async ({ page, request }) => {
    const pageErrors: Error[] = [];
    page.on('pageerror', (err) => pageErrors.push(err));
    await page.setViewportSize(device.viewport);
    const health = HealthSchema.parse(await (await request.get('/api/health')).json());

    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Latentroom');
    await expect(page.getByText('Explore the latent space of generative image models')).toBeVisible();
    for (const m of health.models) await expect(page.getByTestId(`create-room-${m.id}`)).toBeEnabled();
    // A trained, evaluated model shows its figures beside their floors.
    await expect(page.getByTestId('model-vae-mnist').getByRole('row', { name: /FID/ })).toBeVisible();
    await expect(page.getByTestId('model-vae-mnist').locator('img')).toHaveJSProperty('complete', true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(device.viewport.width);
    await screenshot(page, device.file);
    expect(pageErrors).toEqual([]);
  });
}

test('the status page shows the live server status', async ({ page, request }) => {
  const health = HealthSchema.parse(await (await request.get('/api/health')).json());
  await page.goto('/about');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Server status');
  await expect(page.getByTestId('socket-status')).toHaveText('connected');
  await expect(page.getByTestId('engine-backend')).toHaveText(health.engine.backend);
  await expect(page.getByTestId('database-status')).toContainText('pglite ok');
  await screenshot(page, 'about.png');
});
