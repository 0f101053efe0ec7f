/**
 * The model page: a training job started through the API shows its progress arriving (the step
 * counter and the loss curve grow, images/s appears, a sample grid comes), and Cancel stops it;
 * a shipped model shows its evaluation beside the floors and the truncation sweep.
 */
import { expect, test } from './fixtures';
import { screenshot } from './support';

const stepOf = async (text: Promise<string | null>) => Number(/step ([\d,]+)/.exec((await text) ?? '')?.[1]?.replace(/,/g, '') ?? -1);

test('a training job streams its progress to the model page, and Cancel stops it', async ({ page, request }) => {
  test.setTimeout(240_000);
  const modelId = `e2e-vae-${Date.now().toString(36)}`;
  const res = await request.post('/api/training-jobs', {
    data: { family: 'vae', dataset: 'mnist', modelId, steps: 5000, batchSize: 32, progressEvery: 2, sampleEvery: 10, checkpointEvery: 100_000 },
  });
  expect(res.status()).toBe(201);
  const { job } = (await res.json()) as { job: { id: string } };

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`/models/${modelId}?job=${job.id}`);
  await expect(page.getByTestId('training')).toBeVisible();
  await expect(page.getByTestId('job-status')).toHaveText('running', { timeout: 90_000 });
  // Progress arrives: the step counter moves, twice.
  const step = page.getByTestId('job-step');
  await expect.poll(() => stepOf(step.textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  const first = await stepOf(step.textContent());
  await expect.poll(() => stepOf(step.textContent()), { timeout: 60_000 }).toBeGreaterThan(first);
  await expect(page.getByTestId('images-per-sec')).not.toHaveText('–');
  // The loss chart draws one curve per loss, with more than one point.
  await expect.poll(() => page.getByTestId('loss-chart').locator('polyline').count()).toBeGreaterThan(0);
  await expect.poll(async () => ((await page.getByTestId('loss-chart').locator('polyline').first().getAttribute('points')) ?? '').split(' ').length, { timeout: 60_000 }).toBeGreaterThan(2);
  await expect(page.getByTestId('live-samples')).toBeVisible({ timeout: 90_000 });
  // A few sample grids in, the digits start to show.
  await expect.poll(() => stepOf(step.textContent()), { timeout: 90_000 }).toBeGreaterThanOrEqual(40);
  const samplesStep = async () => Number(/at step (\d+)/.exec((await page.getByRole('heading', { name: /^Samples/ }).textContent()) ?? '')?.[1] ?? -1);
  await expect.poll(samplesStep, { timeout: 60_000 }).toBeGreaterThanOrEqual(40);
  await screenshot(page, 'model.png');

  await page.getByRole('button', { name: 'Cancel training' }).click();
  await expect(page.getByTestId('job-status')).toHaveText('cancelled', { timeout: 60_000 });
  // The event reaches the page as the job stops; its row is written right after.
  await expect.poll(async () => ((await (await request.get(`/api/training-jobs/${job.id}`)).json()) as { job: { status: string } }).job.status).toBe('cancelled');
});

test('a shipped model shows its evaluation beside the floors and its truncation sweep', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/models/vae-mnist');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('MNIST VAE');
  const table = page.getByTestId('evaluation-table');
  await expect(table.getByRole('row', { name: /real images \(floor\)/ })).toBeVisible();
  await expect(table.getByRole('row', { name: /model, psi=0\.7/ })).toBeVisible();
  await expect(page.getByTestId('sweep-fid').locator('polyline')).toHaveCount(2);
  await screenshot(page, 'model-evaluation.png');
});
