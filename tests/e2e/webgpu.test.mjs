// The page's Backend control end to end, in headless Chromium with WebGPU on (`--enable-unsafe-webgpu`: the
// software adapter, SwiftShader). The worker probes WebGPU and names the adapter (a software one); with WebGPU
// chosen, each model kind trains a few steps and its curves (CSV) agree with the CPU run of the same link:
// |gpu − cpu| ≤ 1e-3·(1 + |cpu|) on every train and test loss, as tests/gpu_training.rs (f32 sums in another
// order on the GPU; Adam divides by √v̂ + ε, which amplifies differences of gradients near zero). Kept tiny:
// SwiftShader is slow (the small CNN's 3 steps take about 2 minutes here; the ConvNet is left to the native
// tests on lavapipe, and the fallback after a lost device to tests/gpu_session.rs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshotDir = new URL('../../target/e2e/', import.meta.url).pathname;

let browser;
const problems = [];

before(async () => {
  mkdirSync(screenshotDir, { recursive: true });
  browser = await chromium.launch({ executablePath, args: ['--enable-unsafe-webgpu'] });
});

after(async () => {
  await browser?.close();
});

// A page on `query`, interactive, with the WebGPU probe answered.
async function open(query) {
  const page = await browser.newPage({ acceptDownloads: true });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
  });
  await page.goto(`${url}?${query}`);
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, { timeout: 30_000 });
  await page.waitForFunction(() => !document.querySelector('#backend-status').textContent.startsWith('Looking'), null, {
    timeout: 30_000,
  });
  return page;
}

async function chooseWebgpu(page) {
  await page.getByLabel('Backend').selectOption({ label: 'WebGPU' });
  await page.waitForFunction(() => document.querySelector('#workers').disabled, null, { timeout: 30_000 });
}

// Runs to the end of the link's steps and returns the curves' rows as numbers.
async function runAndExport(page, steps) {
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForFunction((steps) => Number(document.querySelector('#step-counter').textContent) === steps, steps, {
    timeout: 240_000,
  });
  await page.waitForFunction(() => !document.querySelector('#export-csv').disabled);
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

const models = [
  ['MLP, BatchNorm, Adam', 'model=mlp&hidden=32&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=16&steps=6&eval=2&seed=5'],
  ['small CNN', 'model=small-cnn&opt=adam&lr=0.002&batch=4&steps=3&eval=3&seed=5'],
];

test('the Backend control names the software adapter', async () => {
  const page = await open(models[0][1]);
  const status = await page.textContent('#backend-status');
  assert.match(status, /WebGPU adapter: .*software adapter/, status);
  assert.equal(await page.getByLabel('Backend').inputValue(), 'cpu', 'the CPU is the default');
  await page.screenshot({ path: `${screenshotDir}/webgpu.png`, fullPage: true });
  await page.close();
});

for (const [name, query] of models) {
  test(`${name}: WebGPU follows the CPU's curves`, async () => {
    const steps = Number(query.match(/steps=(\d+)/)[1]);
    const cpuPage = await open(query);
    const cpu = await runAndExport(cpuPage, steps);
    await cpuPage.close();
    const gpuPage = await open(query);
    await chooseWebgpu(gpuPage);
    const gpu = await runAndExport(gpuPage, steps);
    assert.equal(await gpuPage.textContent('#train-message'), '', 'no GPU error');
    await gpuPage.close();
    assertCurvesAgree(name, gpu, cpu);
  });
}
