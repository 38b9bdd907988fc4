#!/usr/bin/env node
// Measures the GPU read-backs of the page's WebGPU run (not a test: a measurement for the README). Serve a release
// build first (`./scripts/serve`, or any static server on dist/ named by LAB_URL; the `lab synth` files in
// LAB_DATA, as for the end-to-end tests), then `node scripts/measure-gpu-sync.mjs [SECONDS]`. Headless Chromium
// with WebGPU on (SwiftShader where there is no GPU) runs the lost-device test's model (MLP 32 + BatchNorm + Adam,
// batch 16, a curve point every 20 steps on 4 test images) with WebGPU and counts, inside the training worker,
// every `GPUBuffer.mapAsync` (each read-back: the losses every 8 steps, the evaluations, the syncs of the
// weights and the optimizer's moments) over SECONDS (default 30) of the run, after a 10 s warm-up.
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { data, drop, launch, ready, url } from '../tests/e2e/support.mjs';

const seconds = Number(process.argv[2] ?? 30);
const query = 'model=mlp&hidden=32&act=elu&norm=batch-norm&opt=adam&lr=0.003&batch=16&steps=20000&eval=20&seed=5';
const RECORD_BYTES = 1 + 3 * 32 * 32;
const browser = await launch(['--enable-unsafe-webgpu']);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const workers = [];
  page.on('worker', (worker) => workers.push(worker));
  await page.goto(`${url}?${query}`);
  await ready(page);
  await drop(page, [
    { name: 'data_batch_1.bin', bytes: readFileSync(`${data}/bin/data_batch_1.bin`) },
    { name: 'test_batch.bin', bytes: readFileSync(`${data}/bin/test_batch.bin`).subarray(0, 4 * RECORD_BYTES) },
  ]);
  await page.waitForFunction(() => document.querySelector('#test-count').textContent === '4', null, { timeout: 60_000 });
  await page.waitForFunction(() => !document.querySelector('#backend-status').textContent.startsWith('Looking'), null, {
    timeout: 30_000,
  });
  await page.getByLabel('Backend').selectOption({ label: 'WebGPU' });
  await page.waitForFunction(() => document.querySelector('#workers').disabled, null, { timeout: 30_000 });
  console.log(`adapter: ${await page.textContent('#backend-status')}`);
  await workers[0].evaluate(() => {
    self.readBacks = 0;
    const mapAsync = GPUBuffer.prototype.mapAsync;
    GPUBuffer.prototype.mapAsync = function (...args) {
      self.readBacks += 1;
      return mapAsync.apply(this, args);
    };
  });
  await page.click('#run');
  await page.waitForTimeout(10_000);
  const count = async () => [await workers[0].evaluate(() => self.readBacks), Number(await page.textContent('#step-counter'))];
  const [readBacks0, steps0] = await count();
  const start = Date.now();
  await page.waitForTimeout(seconds * 1000);
  const [readBacks1, steps1] = await count();
  const elapsed = (Date.now() - start) / 1000;
  await page.click('#pause');
  const [reads, steps] = [readBacks1 - readBacks0, steps1 - steps0];
  console.log(
    `${elapsed.toFixed(1)} s: ${reads} read-backs (${(reads / elapsed).toFixed(2)}/s), ${steps} steps ` +
      `(${(steps / elapsed).toFixed(1)}/s, ${(reads / Math.max(steps, 1)).toFixed(3)} read-backs a step); ` +
      `backend ${await page.getByLabel('Backend').inputValue()}, load ${loadavg()[0].toFixed(1)}`,
  );
} finally {
  await browser.close();
}
