/**
 * A person opens the printed URL: they see what Latentroom is and a live status panel that
 * reports the socket as connected and the engine backend the server runs on.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HealthSchema } from '../../lib/protocol/health';
import { expect, test } from './fixtures';

const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

for (const device of [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, file: 'home.png' },
  { name: 'phone', viewport: { width: 390, height: 844 }, file: 'home-phone.png' },
]) {
  test(`home page shows the live server status (${device.name})`, async ({ page, request }) => {
    const pageErrors: Error[] = [];
    page.on('pageerror', (err) => pageErrors.push(err));
    await page.setViewportSize(device.viewport);

    const health = HealthSchema.parse(await (await request.get('/api/health')).json());

    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Latentroom');
    await expect(page.getByText('Explore the latent space of generative image models')).toBeVisible();

    // App state, not sleeps: the panel fills in once the handshake and the health call return.
    await expect(page.getByTestId('socket-status')).toHaveText('connected');
    await expect(page.getByTestId('engine-backend')).toHaveText(health.engine.backend);
    await expect(page.getByTestId('database-status')).toContainText('pglite ok');

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOT_DIR}${device.file}`, fullPage: true });
    expect(pageErrors).toEqual([]);
  });
}
