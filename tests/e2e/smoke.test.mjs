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

after(async () => {
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
  // Screenshot first, so a failing table can be looked at.
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: new URL('lab.png', screenshotDir).pathname, fullPage: true });
  const rows = await page.locator('#gradcheck-rows tr').count();
  const passed = await page.locator('#gradcheck-rows td.pass').count();
  assert.ok(rows > 0, 'the gradient-check table has rows');
  assert.equal(passed, rows, `${rows - passed} of ${rows} gradient checks failed`);
  assert.equal(await page.textContent('#gradcheck-summary'), `${rows} of ${rows} gradient checks passed.`);
});

test('the page logged no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
