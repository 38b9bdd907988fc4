#!/usr/bin/env node
// Measures the page's MLP training speed with each of its two WebAssembly modules (not a test: a measurement
// for BENCHMARKS.md). Serve a release build first (`./scripts/serve`, or any static server on dist/ named by
// LAB_URL), then `node scripts/measure-simd.mjs [ROUNDS]`. Rounds alternate the relaxed-SIMD module (Chromium's
// own choice) and the SIMD128 module (the page's relaxed-SIMD probe refused, as tests/e2e/relaxed.test.mjs
// does), so both see the same minutes of the machine's load; each round is a fresh page that runs the default
// MLP (3072-100-10, batch 200) for 8 s and reads the images/s the page shows. Headless Debian Chromium through
// playwright-core, single worker.
import { loadavg } from 'node:os';
import { launch, ready, url, withoutRelaxedSimd } from '../tests/e2e/support.mjs';

const rounds = Number(process.argv[2] ?? 3);
const RUN_MS = 8_000;
const browser = await launch();
const results = { 'relaxed-simd': [], simd128: [] };
try {
  for (let round = 1; round <= rounds; round++) {
    for (const emulateNoRelaxed of [false, true]) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
      if (emulateNoRelaxed) await context.addInitScript(withoutRelaxedSimd);
      const page = await context.newPage();
      await page.goto(`${url}?steps=20000`); // the default MLP, with steps enough for any machine's 8 s
      await ready(page);
      const simd = await page.evaluate(() => globalThis.backpropLabSimd);
      await page.click('#run');
      await page.waitForTimeout(RUN_MS);
      const speed = Number(await page.textContent('#speed'));
      const steps = Number(await page.textContent('#step-counter'));
      if (await page.isEnabled('#pause')) await page.click('#pause');
      results[simd].push(speed);
      console.log(`round ${round} ${simd}: ${speed} images/s (${steps} steps in ${RUN_MS / 1000} s), load ${loadavg()[0].toFixed(1)}`);
      await context.close();
    }
  }
} finally {
  await browser.close();
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [simd, speeds] of Object.entries(results)) {
  console.log(`${simd}: median ${median(speeds)} images/s of ${speeds.join(', ')}`);
}
