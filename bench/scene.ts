/**
 * `npm run bench:scene`: how smoothly the room's 3D view draws a 10,000-point cloud in a real
 * browser, the "60 fps with 10,000 points" figure.
 *
 * Starts the real service (`npm start`: builds the web app if needed) on a free port with a
 * temporary data directory, opens Debian's Chromium (headless, as the e2e tests run it: no GPU, so
 * WebGL runs on the CPU through SwiftShader), creates a room of a GAN from the home page (its cloud:
 * 10,000 latents sampled and classified on the server) and, once every point is in the draw
 * range, measures for `--seconds` each:
 *   - idle: the scene with nothing moving (it renders on demand, so this is the page's own rate);
 *   - orbit: the camera dragged round without a pause (every animation frame re-renders the cloud);
 *   - steer: shift-drag in the view, steering the room (ops sent, frames streamed back, the
 *     room's marker and the image updated) while the cloud is redrawn.
 * For each: animation frames per second and the scene's renders per second (the app's test hook,
 * components/room/test-hook.ts), the median and p95 interval between animation frames, and the
 * share of intervals over 20 ms (a frame missed at 60 Hz), and the page's main-thread time per
 * render (Chrome's Performance metrics over CDP): with no GPU the rasterising runs in the GPU
 * process on the CPU, so a low main-thread time with a low frame rate says the software
 * rasteriser, not the app's JavaScript, sets the pace.
 *
 *   npm run bench:scene -- [--model dcgan-mnist] [--seconds 10] [--width 1440 --height 900] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../playwright.config';
import { hook as readHook } from '../tests/e2e/support';
import { argValue, quantile, report, say } from './lib/report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODEL = argValue('model') ?? 'dcgan-mnist';
const SECONDS = Number(argValue('seconds') ?? 10);
const WIDTH = Number(argValue('width') ?? 1440);
const HEIGHT = Number(argValue('height') ?? 900);
const POINTS_TIMEOUT_MS = 300_000;

async function startService(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start in 10 min:\n${output.slice(-2000)}`)), 600_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Latentroom ready at (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the service exited (${code}):\n${output.slice(-2000)}`)));
  });
  return { url, child };
}

// The page-side scripts are strings: tsx compiles functions with esbuild's keepNames, whose
// `__name` helper does not exist in the page.

/** Collects the intervals between animation frames in the page from now on. */
async function startFrameClock(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const w = window;
    w.__benchFrames = [];
    w.__benchStop = false;
    let last = 0;
    function tick(t) {
      w.__benchFrames.push(t - last);
      last = t;
      if (!w.__benchStop) requestAnimationFrame(tick);
    }
    requestAnimationFrame((t) => {
      last = t;
      requestAnimationFrame(tick);
    });
  })()`);
}

async function stopFrameClock(page: Page): Promise<number[]> {
  return page.evaluate(`(() => {
    window.__benchStop = true;
    return window.__benchFrames ?? [];
  })()`);
}

interface Phase {
  animation_frames_per_s: number;
  scene_renders_per_s: number;
  frame_interval_ms: { p50: number; p95: number; max: number };
  share_over_20ms: number;
  room_versions_per_s: number;
  /** The page's main thread (Chrome's Performance metrics): all its tasks and their script, per scene render. */
  main_thread_ms_per_render: { tasks: number; script: number };
  main_thread_busy_share: number;
}

type Cdp = Awaited<ReturnType<ReturnType<Page['context']>['newCDPSession']>>;

async function mainThread(cdp: Cdp): Promise<{ task: number; script: number }> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { task: get('TaskDuration'), script: get('ScriptDuration') };
}

/** Runs `drive` for SECONDS while the frame clock and the hook's counters run. */
async function measure(page: Page, cdp: Cdp, drive: (until: number) => Promise<void>): Promise<Phase> {
  const main0 = await mainThread(cdp);
  const renders0 = (await readHook(page, 'renderedFrames')) ?? 0;
  const version0 = (await readHook(page, 'roomVersion')) ?? 0;
  await startFrameClock(page);
  const t0 = performance.now();
  await drive(t0 + SECONDS * 1000);
  const intervals = await stopFrameClock(page);
  const elapsed = (performance.now() - t0) / 1000;
  const renders = ((await readHook(page, 'renderedFrames')) ?? 0) - renders0;
  const versions = ((await readHook(page, 'roomVersion')) ?? 0) - version0;
  const main1 = await mainThread(cdp);
  const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    animation_frames_per_s: round(intervals.length / elapsed),
    scene_renders_per_s: round(renders / elapsed),
    frame_interval_ms: { p50: round(quantile(intervals, 0.5)), p95: round(quantile(intervals, 0.95)), max: round(Math.max(...intervals)) },
    share_over_20ms: round(intervals.filter((x) => x > 20).length / Math.max(1, intervals.length), 3),
    room_versions_per_s: round(versions / elapsed),
    main_thread_ms_per_render: {
      tasks: round(((main1.task - main0.task) * 1000) / Math.max(1, renders), 2),
      script: round(((main1.script - main0.script) * 1000) / Math.max(1, renders), 2),
    },
    main_thread_busy_share: round((main1.task - main0.task) / elapsed, 3),
  };
}

/** Drags the pointer in circles over the middle of the 3D view until `until`. */
async function circle(page: Page, until: number, shift: boolean): Promise<void> {
  const box = await page.getByTestId('scene').boundingBox();
  if (!box) throw new Error('the 3D view is not on the page');
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const r = Math.min(box.width, box.height) / 4;
  await page.mouse.move(cx + r, cy);
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.down();
  let a = 0;
  while (performance.now() < until) {
    a += 0.08;
    await page.mouse.move(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  await page.mouse.up();
  if (shift) await page.keyboard.up('Shift');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latentroom-bench-scene-'));
  say(`starting the service (npm start; builds the web app if needed), data in ${dataDir}`);
  const { url, child } = await startService(dataDir);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT } })).newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${url}/`);
    await page.getByTestId(`create-room-${MODEL}`).click();
    await page.waitForURL(/\/rooms\/[A-Za-z0-9_-]+#t=/);
    say(`room open at ${page.url().replace(/#t=.*/, '#t=…')}; waiting for the point cloud`);
    const deadline = Date.now() + POINTS_TIMEOUT_MS;
    let points = 0;
    while ((points = (await readHook(page, 'pointCount')) ?? 0) < 10_000 && Date.now() < deadline) await page.waitForTimeout(250);
    if (points < 10_000) throw new Error(`the cloud has ${points} points, expected 10,000`);
    const renderer = await page.evaluate<string>(`(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
      return info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'unknown';
    })()`);
    say(`${points} points drawn (WebGL renderer: ${renderer}); measuring ${SECONDS} s per phase at ${WIDTH}x${HEIGHT}`);

    const idle = await measure(page, cdp, (until) => page.waitForTimeout(until - performance.now()));
    say(`idle:  ${idle.animation_frames_per_s} animation frames/s, ${idle.scene_renders_per_s} renders/s`);
    const orbit = await measure(page, cdp, (until) => circle(page, until, false));
    say(`orbit: ${orbit.animation_frames_per_s} animation frames/s, ${orbit.scene_renders_per_s} renders/s, interval p50/p95 ${orbit.frame_interval_ms.p50}/${orbit.frame_interval_ms.p95} ms, main thread ${orbit.main_thread_ms_per_render.tasks} ms per render (busy ${orbit.main_thread_busy_share})`);
    const steer = await measure(page, cdp, (until) => circle(page, until, true));
    say(`steer: ${steer.animation_frames_per_s} animation frames/s, ${steer.scene_renders_per_s} renders/s, ${steer.room_versions_per_s} room versions/s, interval p50/p95 ${steer.frame_interval_ms.p50}/${steer.frame_interval_ms.p95} ms, main thread ${steer.main_thread_ms_per_render.tasks} ms per render (busy ${steer.main_thread_busy_share})`);
    if (steer.room_versions_per_s === 0) throw new Error('shift-drag did not steer the room: the steer phase measured nothing');

    report({
      model: MODEL,
      points,
      viewport: `${WIDTH}x${HEIGHT}`,
      webgl_renderer: renderer,
      seconds_per_phase: SECONDS,
      idle,
      orbit,
      steer,
      load_average: Math.round(loadavg()[0]! * 100) / 100,
    });
  } finally {
    await browser.close();
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
