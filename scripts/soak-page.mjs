// The page's soak (run by scripts/soak, not a test): trains the small CNN in headless Chromium for MINUTES
// minutes with evaluations every 100 steps, a gradient check every 3 minutes and a layer view every minute,
// and samples every 15 s, after a garbage collection: the page's JS heap (CDP Runtime.getHeapUsage), DOM
// nodes and listeners (Performance.getMetrics), and the wasm memory of the page and of the training worker.
// Prints and writes (target/soak/page.json) each series' spread after the warm-up (the first 20 %): flat
// means every sample within ±5 % of the warm-up's end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
const minutes = Number(process.argv[2] ?? 30);
const QUERY = '?model=small-cnn&opt=adam&lr=0.001&batch=50&steps=100000&eval=100&seed=1';
const SAMPLE_MS = 15_000;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true });
const page = await browser.newPage();
const errors = [];
page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
page.on('pageerror', (error) => errors.push(error.message));
const workers = [];
page.on('worker', (worker) => workers.push(worker));
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
await page.goto(new URL(QUERY, url).href);
await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, { timeout: 120_000 });
await page.click('#run');

const samples = [];
const started = Date.now();
let lastCheck = started;
let lastLayer = started;
let layer = 0;
while (Date.now() - started < minutes * 60_000) {
  await page.waitForTimeout(SAMPLE_MS);
  const now = Date.now();
  if (now - lastLayer >= 60_000) {
    const buttons = page.locator('#layers button');
    await buttons.nth(layer++ % (await buttons.count())).click();
    lastLayer = now;
  }
  if (now - lastCheck >= 180_000) {
    await page.click('#check-gradients');
    lastCheck = now;
  }
  if (await page.isEnabled('#run')) await page.click('#run'); // a gradient check or the end paused it
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const metric = (name) => metrics.find((m) => m.name === name)?.value;
  const workerWasm = await workers.at(-1)?.evaluate(() => self.backpropLabMemory?.buffer.byteLength);
  samples.push({
    seconds: Math.round((now - started) / 1000),
    step: Number(await page.textContent('#step-counter')),
    pageHeap: heap.usedSize,
    pageWasm: await page.evaluate(() => globalThis.backpropLabMemory?.buffer.byteLength),
    workerWasm,
    nodes: metric('Nodes'),
    listeners: metric('JSEventListeners'),
  });
  console.log(JSON.stringify(samples.at(-1)));
}
await browser.close();

const series = ['pageHeap', 'pageWasm', 'workerWasm', 'nodes', 'listeners'];
const warm = samples.slice(Math.max(1, Math.floor(samples.length / 5)) - 1);
const summary = Object.fromEntries(series.map((name) => {
  const values = warm.map((s) => s[name]).filter((v) => v !== undefined);
  const base = values[0];
  const worst = Math.max(...values.map((v) => Math.abs(v - base) / base));
  return [name, { after_warm_up: base, min: Math.min(...values), max: Math.max(...values), last: values.at(-1), worst_deviation: worst, flat: worst <= 0.05 }];
}));
const report = { minutes: (samples.at(-1)?.seconds ?? 0) / 60, steps: samples.at(-1)?.step, summary, errors, samples };
mkdirSync('target/soak', { recursive: true });
writeFileSync('target/soak/page.json', `${JSON.stringify(report, null, 1)}\n`);
console.log(JSON.stringify({ minutes: report.minutes, steps: report.steps, summary, errors }, null, 1));
