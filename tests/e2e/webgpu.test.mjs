// The page's Backend control end to end, in headless Chromium with WebGPU on (`--enable-unsafe-webgpu`: the
// software adapter, SwiftShader). The worker probes WebGPU and names the adapter (a software one). Every
// preset of the page's list, chosen as a person would (Preset, then Batch size, Steps, Evaluate every, Enter),
// trains 2 steps with WebGPU and its curves (CSV) agree with the CPU page's run of the same preset:
// |gpu − cpu| ≤ 1e-3·(1 + |cpu|) on every train and test loss, as tests/gpu_training.rs (f32 sums in another
// order on the GPU; Adam divides by √v̂ + ε, which amplifies differences of gradients near zero). A device lost
// mid-run switches the page back to the CPU from the last sync (weights, optimizer state, step and curves, all
// of one step), with a message, and training goes on: its curve points continue, none lost or repeated.
//
// Kept small for CI: SwiftShader runs these kernels at a fraction of a GFLOP/s, so the runs use the dropped
// `lab synth` files with the test set cut to 4 images, batch 4 and 2 steps (the ConvNet's 2 steps take about
// a minute of SwiftShader time here, its evaluations a few seconds). Batch 4, not 2: with 2 images a BatchNorm
// normalises each feature to ±1 whatever its input, so the gradient below it is rounding noise, which Adam
// turns into ±lr updates that differ between any two summation orders. The lost device is the worker's
// test-only `lose-device` request (src/session/backend.rs), sent from inside the worker as the recovery test
// sends `trap`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { data, drop, launch, ready, screenshotDir, stepCount, url, waitForStep, watch } from './support.mjs';

const TEST_IMAGES = 4;
const RECORD_BYTES = 1 + 3 * 32 * 32;
// What each preset's run is trimmed to (its model, optimizer, schedule, seed and augmentation stay).
const TRIM = { batch: 4, steps: 2, eval: 1 };
// The pages open on a configuration that is no preset, so that choosing any preset changes it.
const CUSTOM = 'seed=7';

let browser;
const problems = [];
let cpuPage;
let gpuPage;

// The CIFAR-format files of `lab synth` (1000 training images) with the test set cut to its first images.
const files = () => [
  { name: 'data_batch_1.bin', bytes: readFileSync(`${data}/bin/data_batch_1.bin`) },
  { name: 'test_batch.bin', bytes: readFileSync(`${data}/bin/test_batch.bin`).subarray(0, TEST_IMAGES * RECORD_BYTES) },
];

// A page on `query`, interactive, with the small data set loaded and the WebGPU probe answered; `workers`
// receives its workers as they start (the training worker first).
async function open(query, { expected, workers = [] } = {}) {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  watch(page, problems, expected);
  page.on('worker', (worker) => workers.push(worker));
  await page.goto(`${url}?${query}`);
  await ready(page);
  await drop(page, files());
  await page.waitForFunction((n) => document.querySelector('#test-count').textContent === String(n), TEST_IMAGES, {
    timeout: 60_000,
  });
  await page.waitForFunction(() => !document.querySelector('#backend-status').textContent.startsWith('Looking'), null, {
    timeout: 30_000,
  });
  return page;
}

async function chooseWebgpu(page) {
  await page.getByLabel('Backend').selectOption({ label: 'WebGPU' });
  await page.waitForFunction(() => document.querySelector('#workers').disabled, null, { timeout: 30_000 });
}

// Chooses `preset` and trims it through the form, one field at a time: Tab commits a field (one `change`;
// Enter would send the form twice, change and submit, and the second reply could refill the next field while
// it is typed), and the worker's reply refills the form before the next field is typed.
async function choosePreset(page, { label, query }) {
  await page.getByRole('combobox', { name: /^Preset/ }).selectOption({ label });
  await page.waitForFunction((query) => location.search === `?${query}`, query, { timeout: 60_000 });
  for (const [field, key] of [['Batch size', 'batch'], ['Steps', 'steps'], ['Evaluate every', 'eval']]) {
    await page.getByLabel(field, { exact: true }).fill(String(TRIM[key]));
    await page.getByLabel(field, { exact: true }).press('Tab');
    await page.waitForFunction(([key, value]) => new URLSearchParams(location.search).get(key) === value, [key, String(TRIM[key])], {
      timeout: 60_000,
    });
  }
  assert.equal(new URL(page.url()).search, `?${trimmed(query)}`, `${label}: the trimmed preset`);
  assert.equal(await stepCount(page), 0, `${label}: a new run`);
}

const trimmed = (query) => Object.entries(TRIM).reduce((q, [key, value]) => q.replace(new RegExp(`(^|&)${key}=\\d+`), `$1${key}=${value}`), query);

// Runs to the end and returns the curves' rows as numbers.
async function runAndExport(page, steps) {
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForFunction((steps) => Number(document.querySelector('#step-counter').textContent) === steps, steps, {
    timeout: 600_000,
  });
  await page.waitForFunction(() => !document.querySelector('#export-csv').disabled, null, { timeout: 60_000 });
  return exportCurves(page);
}

async function exportCurves(page) {
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => line.split(',').map(Number));
}

function assertCurvesAgree(what, gpu, cpu) {
  assert.equal(gpu.length, cpu.length, `${what}: curve points`);
  gpu.forEach((row, i) => {
    assert.equal(row[0], cpu[i][0], `${what}: step`);
    for (const [column, name] of [[1, 'train loss'], [3, 'test loss']]) {
      const [g, c] = [row[column], cpu[i][column]];
      assert.ok(Math.abs(g - c) <= 1e-3 * (1 + Math.abs(c)), `${what}: ${name} at step ${row[0]}: ${g} with WebGPU, ${c} on the CPU`);
    }
  });
}

before(async () => {
  browser = await launch(['--enable-unsafe-webgpu']);
});

after(async () => {
  await browser?.close();
  assert.deepEqual(problems, [], 'no console errors, uncaught errors or failed requests');
});

test('the Backend control names the software adapter', async () => {
  cpuPage = await open(CUSTOM);
  const status = await cpuPage.textContent('#backend-status');
  assert.match(status, /WebGPU adapter: .*software adapter/, status);
  assert.equal(await cpuPage.getByLabel('Backend').inputValue(), 'cpu', 'the CPU is the default');
  await cpuPage.screenshot({ path: `${screenshotDir}/webgpu.png`, fullPage: true });
});

test('every preset trains with WebGPU along the CPU curves', async (t) => {
  gpuPage = await open(CUSTOM);
  await chooseWebgpu(gpuPage);
  const presets = await cpuPage.$$eval('#preset option', (options) =>
    options.filter((o) => o.value !== '').map((o) => ({ label: o.textContent, query: o.value })));
  assert.ok(presets.some(({ query }) => query.includes('model=convnet')), 'the ConvNet is a preset');
  assert.ok(presets.some(({ query }) => query.includes('model=small-cnn')), 'the small CNN is a preset');
  for (const preset of presets) {
    await t.test(preset.label, async () => {
      await choosePreset(cpuPage, preset);
      const cpu = await runAndExport(cpuPage, TRIM.steps);
      await choosePreset(gpuPage, preset);
      const gpu = await runAndExport(gpuPage, TRIM.steps);
      assert.equal(await gpuPage.getByLabel('Backend').inputValue(), 'gpu', 'still on WebGPU');
      assert.equal(await gpuPage.textContent('#train-message'), '', 'no GPU error');
      assert.equal(cpu.length, TRIM.steps / TRIM.eval, 'a curve point per evaluation');
      assertCurvesAgree(preset.label, gpu, cpu);
    });
  }
  await cpuPage.close();
  await gpuPage.close();
});

test('a lost device switches the page back to the CPU from the last synced weights', async () => {
  const workers = [];
  const page = await open('model=mlp&hidden=32&act=elu&norm=batch-norm&opt=adam&lr=0.003&batch=16&steps=20000&eval=20&seed=5', {
    workers,
  });
  await chooseWebgpu(page);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await waitForStep(page, 'n >= 60', 300_000);
  assert.equal(await page.getByLabel('Backend').inputValue(), 'gpu');
  // The per-layer norm curves fill from the GPU too: read back with the losses, every 8 steps.
  await page.waitForFunction(() => Number(document.querySelector('#norm-curves').dataset.lastStep) >= 8, null, {
    timeout: 60_000,
  });
  const normStep = Number(await page.getAttribute('#norm-curves', 'data-last-step'));
  assert.equal(normStep % 8, 0, `the norms of a step whose losses were read back: ${normStep}`);
  // The GPU's state is synced back every few seconds and for each snapshot the page takes (SYNC_MS): wait for
  // one past step 60, the least step the fallback may go back to.
  await page.waitForFunction(() => Number(document.querySelector('#snapshot-status').textContent.match(/step (\d+)/)?.[1]) >= 60, null, {
    timeout: 120_000,
  });
  const snapshot = Number((await page.textContent('#snapshot-status')).match(/step (\d+)/)[1]);
  // The test-only `lose-device` request (it destroys the device, as a lost one), sent from inside the worker
  // between two of the page's requests, as the page's own requests arrive.
  await workers[0].evaluate(() => {
    setTimeout(() => self.onmessage({ data: { id: 4_000_000_000, request: { type: 'lose-device' } } }), 0);
  });
  await page.waitForFunction(() => document.querySelector('#train-message').textContent.includes('WebGPU failed'), null, {
    timeout: 120_000,
  });
  const message = await page.textContent('#train-message');
  const synced = Number(message.match(/from the weights synced at step (\d+)/)?.[1]);
  assert.ok(synced >= snapshot, `the notice names the step of the last sync, at or after the snapshot at ${snapshot}: ${message}`);
  assert.match(message, /with the optimizer's state of that step; the data and the curves up to it are kept/);
  assert.equal(await page.getByLabel('Backend').inputValue(), 'cpu', 'the control is back on the CPU');
  assert.equal(await page.textContent('#backend-status'), 'WebGPU failed: training on the CPU.');
  assert.equal(await page.isEnabled('#workers'), true, 'Workers applies again');
  // Training goes on, on the CPU, from there.
  await waitForStep(page, `n >= ${synced + 60}`, 300_000);
  assert.equal(await page.isEnabled('#pause'), true, 'still running');
  await page.screenshot({ path: `${screenshotDir}/webgpu-lost-device.png`, fullPage: true });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.waitForFunction(() => !document.querySelector('#run').disabled, null, { timeout: 60_000 });
  // Nothing loaded is lost.
  assert.equal(await page.textContent('#dataset-name'), 'CIFAR-10');
  assert.equal(Number(await page.textContent('#train-count')), 1000);
  assert.equal(Number(await page.textContent('#test-count')), TEST_IMAGES);
  // The same run went on (its steps and curve points continue; a fresh model would have started at step 0).
  const curves = await exportCurves(page);
  curves.forEach((row, i) => {
    assert.equal(row[0], 20 * (i + 1), 'a curve point every 20 steps, none lost or repeated');
    assert.ok(Number.isFinite(row[1]) && Number.isFinite(row[3]), `finite losses at step ${row[0]}`);
  });
  assert.ok(curves.at(-1)[0] >= synced + 40, `points after the fallback at step ${synced}`);
  await page.close();
});
