// The page's two WebAssembly modules (www/simd-builds.js): Chromium has relaxed SIMD, so the page, its
// workers and its service worker's cache get the relaxed-SIMD module; in a browser without it (emulated: the
// page's WebAssembly.validate refuses modules with relaxed SIMD's multiply-add, as such an engine's does) they
// get the SIMD128 module. Both train the same model from the same seed, and their curves agree within f32
// rounding: the relaxed build's multiply-add is fused (one rounding) on a CPU with FMA, so not bit for bit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, ready, screenshotDir, url, watch, withoutRelaxedSimd } from './support.mjs';

const MODULES = { 'relaxed-simd': 'backprop-lab-relaxed_bg.wasm', simd128: 'backprop-lab_bg.wasm' };
// A shared link: evaluations every 5 steps, SGD at 1e-4 (MLP 3072-100-10, batch 200, seed 42), 20 steps: 4 rows
// of the curves. At the default 1e-3 the generated data's loss jumps about for the first steps, and last-bit
// differences grow into percents; at 1e-4 the run is smooth and the two builds stay within f32 rounding.
const LINK = `${url}?eval=5&lr=0.0001`;
const STEPS = 20;

let browser;
const problems = [];
const runs = {};

// Opens the link in a context of its own, trains STEPS steps with Step ×10 and returns what ran and the curves.
async function train(name, { emulateNoRelaxed }) {
  // The emulation reaches the page only (a service worker has no init scripts), so the SIMD128 run goes
  // without one: its requests are then all the page's and its workers' own.
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    serviceWorkers: emulateNoRelaxed ? 'block' : 'allow',
  });
  if (emulateNoRelaxed) await context.addInitScript(withoutRelaxedSimd);
  const modules = [];
  context.on('request', (request) => {
    const file = new URL(request.url()).pathname.split('/').pop();
    if (file.endsWith('.wasm')) modules.push(file);
  });
  const page = await context.newPage();
  watch(page, problems);
  await page.goto(LINK);
  await ready(page);
  for (let i = 0; i < STEPS / 10; i++) {
    await page.click('#step10');
    await page.waitForFunction((n) => Number(document.querySelector('#step-counter').textContent) >= n, (i + 1) * 10, {
      timeout: 120_000,
    });
  }
  // The evaluation of the last step has come back when the status names it.
  await page.waitForFunction((n) => document.querySelector('#train-status').textContent.includes(`at step ${n} `), STEPS, {
    timeout: 120_000,
  });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const [header, ...rows] = readFileSync(await download.path(), 'utf8').trim().split('\n');
  const names = header.split(',');
  const curves = rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i], Number(v)])));
  const workers = await Promise.all(page.workers().map((worker) => worker.evaluate(() => self.backpropLabSimd)));
  const run = {
    simd: await page.evaluate(() => globalThis.backpropLabSimd),
    attribute: await page.evaluate(() => document.documentElement.dataset.wasmSimd),
    info: await page.textContent('#build-info'),
    workers,
    modules,
    curves,
    cached: emulateNoRelaxed ? [] : await cachedModules(page),
  };
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${screenshotDir}/relaxed-${name}.png` });
  await context.close();
  return run;
}

// The modules the service worker keeps for this build, once it has installed.
async function cachedModules(page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const worker = registration.active;
    const build = document.querySelector('meta[name="backprop-lab-build"]').content;
    for (let i = 0; i < 600 && !(await caches.has(`backprop-lab-${build}`)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const cache = await caches.open(`backprop-lab-${build}`);
    const kept = (await cache.keys()).map((request) => new URL(request.url).pathname.split('/').pop());
    return { state: worker.state, modules: kept.filter((file) => file.endsWith('.wasm')) };
  });
}

before(async () => {
  browser = await launch();
  runs.relaxed = await train('relaxed-simd', { emulateNoRelaxed: false });
  runs.plain = await train('simd128', { emulateNoRelaxed: true });
});

after(async () => {
  await browser?.close();
});

test('Chromium has relaxed SIMD: the page, every worker and the offline cache take the relaxed-SIMD module', () => {
  const run = runs.relaxed;
  assert.equal(run.simd, 'relaxed-simd');
  assert.equal(run.attribute, 'relaxed-simd');
  assert.match(run.info, /^WebAssembly with relaxed SIMD .*, build [0-9a-f]{16}\.$/);
  assert.ok(run.workers.length >= 1, 'a training worker');
  assert.deepEqual(new Set(run.workers), new Set(['relaxed-simd']), `the workers' modules: ${run.workers}`);
  assert.ok(!run.modules.includes(MODULES.simd128), `the SIMD128 module was never fetched: ${run.modules}`);
  assert.deepEqual(run.cached.modules, [MODULES['relaxed-simd']], 'the service worker keeps only the chosen module');
});

test('without relaxed SIMD the page and every worker take the SIMD128 module and never fetch the other', () => {
  const run = runs.plain;
  assert.equal(run.simd, 'simd128');
  assert.equal(run.attribute, 'simd128');
  assert.match(run.info, /^WebAssembly with SIMD128 .*, build [0-9a-f]{16}\.$/);
  assert.ok(run.workers.length >= 1, 'a training worker');
  assert.deepEqual(new Set(run.workers), new Set(['simd128']), `the workers' modules: ${run.workers}`);
  assert.ok(run.modules.includes(MODULES.simd128), `fetched: ${run.modules}`);
  assert.ok(!run.modules.includes(MODULES['relaxed-simd']), `the relaxed module was never fetched: ${run.modules}`);
});

test('both modules train the same curves within f32 rounding', () => {
  const [relaxed, plain] = [runs.relaxed.curves, runs.plain.curves];
  assert.deepEqual(relaxed.map((row) => row.step), [5, 10, 15, 20]);
  assert.deepEqual(plain.map((row) => row.step), [5, 10, 15, 20]);
  let largest = 0;
  for (const [i, row] of relaxed.entries()) {
    for (const key of ['train_loss', 'test_loss']) {
      // Relative 1e-5: 20 steps of f32 products (k up to 3072) rounded once or twice per multiply-add
      // (2.4e-7 measured on an FMA core; 0 where the engine does not fuse).
      const difference = Math.abs(row[key] - plain[i][key]) / Math.abs(plain[i][key]);
      largest = Math.max(largest, difference);
      assert.ok(difference <= 1e-5, `step ${row.step} ${key}: relaxed ${row[key]}, SIMD128 ${plain[i][key]}`);
    }
    for (const key of ['train_accuracy', 'test_accuracy']) {
      // A near tie between two classes may break the other way: at most 2 images in 1,000 (0.2 %).
      assert.ok(Math.abs(row[key] - plain[i][key]) <= 0.002 + 1e-9, `step ${row.step} ${key}: relaxed ${row[key]}, SIMD128 ${plain[i][key]}`);
    }
  }
  console.log(`relaxed SIMD against SIMD128 over ${STEPS} steps: largest relative loss difference ${largest.toExponential(2)}`);
});

test('no console errors, failed requests or uncaught exceptions in either run', () => {
  assert.deepEqual(problems, []);
});
