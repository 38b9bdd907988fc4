// End-to-end tests of "Inside the network, live" and of the data kept across reloads, driven as a person
// would: links, clicks, selects, file drops, reloads. Run by ./scripts/test like the other files (LAB_URL,
// LAB_DATA from `lab synth`); leaves screenshots in target/e2e/ (views-*.png).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { drop, file, launch, ready, screenshotDir, url, waitForStep, watch } from './support.mjs';

let browser;
let page;
const problems = [];

const recordLongTasks = () => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
};

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  watch(page, problems);
  await page.addInitScript(recordLongTasks);
});

after(async () => {
  await browser?.close();
  assert.deepEqual(problems, [], 'no console errors, failed requests or uncaught exceptions');
});

async function open(query) {
  await page.goto(`${url}?${query}`);
  await ready(page);
}

const dataUrl = (selector) => page.$eval(selector, (canvas) => canvas.toDataURL());
// How many different colours a canvas holds (a blank or flat canvas has one or two).
const colours = (selector) =>
  page.$eval(selector, (canvas) => {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set();
    for (let i = 0; i < pixels.length; i += 4 * 7) seen.add(pixels[i] * 65536 + pixels[i + 1] * 256 + pixels[i + 2]);
    return seen.size;
  });
const lastNormStep = async () => Number(await page.getAttribute('#norm-curves', 'data-last-step'));

test('per-layer norm curves appear, grow with the steps and switch between gradients and weights', async () => {
  await open('model=mlp&hidden=32,32&act=tanh&norm=none&opt=sgd&lr=0.01&batch=50&steps=5000&eval=50&seed=1');
  // One labelled checkbox per layer with parameters.
  for (const name of ['0 Linear(3072→32)', '2 Linear(32→32)', '4 Linear(32→10)']) {
    assert.equal(await page.getByLabel(name, { exact: true }).isChecked(), true, name);
  }
  assert.equal(await lastNormStep(), 0);
  const empty = await dataUrl('#norm-curves');
  await page.click('#step10');
  await waitForStep(page, 'n === 10');
  await page.waitForFunction(() => document.querySelector('#norm-curves').dataset.lastStep === '10');
  const ten = await dataUrl('#norm-curves');
  assert.notEqual(ten, empty, 'the curves are drawn');
  await page.click('#step10');
  await waitForStep(page, 'n === 20');
  await page.waitForFunction(() => document.querySelector('#norm-curves').dataset.lastStep === '20');
  assert.notEqual(await dataUrl('#norm-curves'), ten, 'the curves grow with the steps');
  const gradients = await dataUrl('#norm-curves');
  await page.getByRole('combobox', { name: /^Show/ }).selectOption('weight');
  const weights = await dataUrl('#norm-curves');
  assert.notEqual(weights, gradients, 'weight norms are another chart');
  await page.getByLabel('0 Linear(3072→32)', { exact: true }).uncheck();
  assert.notEqual(await dataUrl('#norm-curves'), weights, 'a layer switched off leaves the chart');
  await page.getByLabel('0 Linear(3072→32)', { exact: true }).check();
  await page.getByRole('combobox', { name: /^Show/ }).selectOption('gradient');
  // Running: the curves keep up, the page stays responsive (no main-thread task over 100 ms).
  const runStart = await page.evaluate(() => performance.now());
  await page.click('#run');
  await waitForStep(page, 'n >= 150', 120_000);
  await page.click('#pause');
  const runEnd = await page.evaluate(() => performance.now());
  await page.waitForTimeout(400);
  assert.ok((await lastNormStep()) >= 150);
  const longTasks = await page.evaluate(
    ([from, to]) => window.__longTasks.filter((t) => t.start >= from && t.start <= to && t.duration > 100),
    [runStart, runEnd],
  );
  assert.deepEqual(longTasks, [], 'no main-thread task over 100 ms while training');
  await page.locator('#network-heading').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${screenshotDir}/views-norms.png` });
});

test('the activation functions and their derivatives are plotted', async () => {
  assert.ok(await colours('#activation-curves') > 10, 'three panels of curves');
  await page.locator('#activation-curves').screenshot({ path: `${screenshotDir}/views-activations.png` });
});

async function showImage(index) {
  await page.getByLabel('Test image', { exact: true }).fill(String(index));
  await page.click('#show-activations');
  await page.waitForFunction((i) => document.querySelector('#activations-caption').textContent.startsWith(`Test image ${i} `), index);
}

const lastRow = () => page.$eval('#image-activations figure:last-child canvas', (c) => c.toDataURL());
const stepsShown = async () => Number((await page.textContent('#activations-caption')).match(/after (\d+) steps/)[1]);

test("an MLP's hidden units for one image, updated as the model trains", async () => {
  await open('model=mlp&hidden=32,32&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=50&steps=300&eval=50&seed=1');
  await showImage(5);
  // The image, then one row per layer: Linear, BatchNorm, ELU twice, then the last Linear.
  assert.equal(await page.locator('#image-activations figure').count(), 1 + 7);
  const captions = await page.locator('#image-activations figcaption').allTextContents();
  assert.match(captions[1], /^Layer 0: Linear\(3072→32\) \[32\]: -?[\d.]+ to -?[\d.]+$/);
  assert.match(captions[7], /^Layer 6: Linear\(32→10\) \[10\]/);
  assert.equal(await stepsShown(), 0);
  const before = await lastRow();
  await page.getByLabel('steps', { exact: true }).fill('5');
  await page.click('#step10');
  await waitForStep(page, 'n === 10');
  await page.waitForFunction(() => / after 10 steps/.test(document.querySelector('#activations-caption').textContent));
  assert.notEqual(await lastRow(), before, 'the class scores changed with training');
});

test("a CNN's feature maps for one image, picked from the gallery, and a deeper convolution's kernels", async () => {
  await open('model=small-cnn&opt=adam&lr=0.001&batch=8&steps=100&eval=50&seed=2');
  await page.click('#show-results');
  await page.waitForSelector('#gallery button');
  const follow = page.locator('#gallery button').nth(2);
  const label = await follow.getAttribute('aria-label');
  const index = Number(label.match(/test image (\d+)/)[1]);
  await follow.click();
  await page.waitForFunction((i) => document.querySelector('#activations-caption').textContent.startsWith(`Test image ${i} `), index);
  const captions = await page.locator('#image-activations figcaption').allTextContents();
  assert.match(captions[1], /^Layer 0: Conv2d.*\[24×32×32\].*first 16 of 24 maps$/);
  assert.ok(await colours('#image-activations figure:nth-child(2) canvas') > 3, 'feature maps, not a flat canvas');
  const before = await lastRow();
  await page.click('#step10');
  await waitForStep(page, 'n === 10');
  await page.waitForFunction(() => / after 10 steps/.test(document.querySelector('#activations-caption').textContent));
  assert.notEqual(await lastRow(), before, 'the class scores changed with training');
  await page.locator('#image-activations').screenshot({ path: `${screenshotDir}/views-image.png` });

  // Kernels: the first convolution at first, then a deeper one chosen by its label.
  const select = page.getByRole('combobox', { name: /^Convolution/ });
  const options = await select.locator('option').allTextContents();
  assert.ok(options.length >= 2, `several convolutions: ${options}`);
  assert.match(await page.textContent('#kernels-caption'), /^Layer 0: Conv2d/);
  const first = await dataUrl('#kernels');
  await select.selectOption({ label: options.at(-1) });
  await page.waitForFunction((label) => document.querySelector('#kernels-caption').textContent.startsWith(label.split(' [')[0]), options.at(-1));
  const caption = await page.textContent('#kernels-caption');
  assert.match(caption, /rows are output channels \(first \d+\), columns the kernel's slice for each input channel \(first \d+\)/);
  assert.notEqual(await dataUrl('#kernels'), first);
  assert.ok(await colours('#kernels') > 10, 'grey tiles of many shades');
  await page.locator('#kernels').screenshot({ path: `${screenshotDir}/views-kernels.png` });
});

test('dropped files are kept across a reload with consent, and forgotten on request', async () => {
  await open('model=mlp&hidden=16&batch=50&steps=100&eval=50');
  // The page looks its storage up after it is ready (src/web/stored.rs): the line fills in shortly after.
  await page.waitForFunction(() => /^Nothing stored in this browser\.$/.test(document.querySelector('#stored-data').textContent));
  await page.getByLabel(/Keep the files I drop in this browser/).check();
  await drop(page, [file('data_batch_1.bin', 'bin/data_batch_1.bin'), file('test_batch.bin', 'bin/test_batch.bin')]);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('#stored-data').textContent.startsWith('Stored in this browser: 2 file(s), 3.7 MB'));
  assert.match(await page.textContent('#stored-data'), /in its Origin Private File System\.$/);
  await page.reload();
  await ready(page);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, { timeout: 60_000 });
  assert.equal(await page.getByLabel(/Keep the files I drop/).isChecked(), true, 'the consent is remembered');
  assert.match(await page.textContent('#data-message'), /^Loaded CIFAR-10/);
  await page.locator('#data-heading').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${screenshotDir}/views-stored.png` });
  // A second tab starts with them too.
  const second = await page.context().newPage();
  watch(second, problems);
  await second.goto(url);
  await ready(second);
  await second.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, { timeout: 60_000 });
  await second.close();
  await page.click('#forget-data');
  await page.waitForFunction(() => document.querySelector('#stored-data').textContent === 'Nothing stored in this browser.');
  assert.equal(await page.getByLabel(/Keep the files I drop/).isChecked(), false);
  assert.equal(await page.textContent('#dataset-name'), 'CIFAR-10', 'forgetting keeps the loaded data');
  await page.reload();
  await ready(page);
  await page.waitForTimeout(500);
  assert.match(await page.textContent('#dataset-name'), /^synthetic-10/, 'after forgetting, a reload starts on the generated data');
});

test('without a usable Origin Private File System the files are kept in IndexedDB', async () => {
  const context = await browser.newContext();
  // A browser whose pages cannot write OPFS files (as some still cannot): IndexedDB stands in.
  await context.addInitScript(() => { delete StorageManager.prototype.getDirectory; });
  const tab = await context.newPage();
  watch(tab, problems);
  await tab.goto(`${url}?model=mlp&hidden=16&batch=50&steps=100&eval=50`);
  await ready(tab);
  await tab.getByLabel(/Keep the files I drop in this browser/).check();
  await drop(tab, [file('data_batch_1.bin', 'bin/data_batch_1.bin'), file('test_batch.bin', 'bin/test_batch.bin')]);
  await tab.waitForFunction(() => document.querySelector('#stored-data').textContent.endsWith('in its IndexedDB.'), null, { timeout: 60_000 });
  await tab.reload();
  await ready(tab);
  await tab.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, { timeout: 60_000 });
  await tab.click('#forget-data');
  await tab.waitForFunction(() => document.querySelector('#stored-data').textContent === 'Nothing stored in this browser.');
  await tab.reload();
  await ready(tab);
  await tab.waitForTimeout(500);
  assert.match(await tab.textContent('#dataset-name'), /^synthetic-10/);
  await context.close();
});
