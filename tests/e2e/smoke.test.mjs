// Browser smoke test of the built lab (`trunk build --release` → dist/), served on localhost.
// Run by ./scripts/test, which serves dist/ and sets LAB_URL. Uses Debian's Chromium through
// playwright-core (never a downloaded browser). Leaves a screenshot in target/e2e/lab.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshotDir = new URL('../../target/e2e/', import.meta.url);

let browser;
let page;
const consoleErrors = [];

before(async () => {
  browser = await chromium.launch({ executablePath, headless: true });
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) =>
    consoleErrors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    if (response.status() >= 400) consoleErrors.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(url);
});

// The page as the tests left it, passed or failed, to look at.
after(async () => {
  if (page) {
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: new URL('lab.png', screenshotDir).pathname, fullPage: true });
  }
  await browser?.close();
});

test('the page loads the wasm module and shows the synthetic dataset', async () => {
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, {
    timeout: 30_000,
  });
  for (const id of ['train-count', 'test-count']) {
    const count = Number(await page.textContent(`#${id}`));
    assert.ok(Number.isInteger(count) && count > 0, `#${id} shows a positive count, found ${count}`);
  }
});

test('Check gradients renders a table in which every row passes', async () => {
  await page.click('#check-gradients');
  await page.waitForFunction(() => document.querySelector('#gradcheck-summary')?.textContent.endsWith('passed.'), null, {
    timeout: 60_000,
  });
  const rows = await page.locator('#gradcheck-rows tr').count();
  const passed = await page.locator('#gradcheck-rows td.pass').count();
  assert.ok(rows > 0, 'the gradient-check table has rows');
  assert.equal(passed, rows, `${rows - passed} of ${rows} gradient checks failed`);
  assert.equal(await page.textContent('#gradcheck-summary'), `${rows} of ${rows} gradient checks passed.`);
});

test('Train 100 steps trains the default MLP and reports its test accuracy', async () => {
  await page.click('#train-steps');
  await page.waitForFunction(() => document.querySelector('#train-status')?.textContent.includes('test accuracy'), null, {
    timeout: 120_000,
  });
  const status = await page.textContent('#train-status');
  const match = status.match(/^Step 100 of \d+: batch loss ([\d.]+), test accuracy ([\d.]+) % on (\d+) images$/);
  assert.ok(match, `unexpected training status: ${status}`);
  const [, loss, accuracy] = match.map(Number);
  assert.ok(Number.isFinite(loss) && loss > 0, `batch loss ${loss}`);
  assert.ok(accuracy >= 0 && accuracy <= 100, `test accuracy ${accuracy} %`);
  assert.equal(await page.isEnabled('#train-steps'), true, 'the button is enabled again after 100 steps');
});

test('the page logged no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
