// End-to-end tests of the teaching features, on the built lab served on localhost (as tests/e2e/lab.test.mjs,
// whose set-up this follows): live hyperparameters, the chart's switches and readout, the run history across a
// reload. Generated data only; small, fast configurations.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { recordLongTasks, watch } from './support.mjs';

const url = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshotDir = new URL('../../target/e2e/', import.meta.url).pathname;

// A small MLP that trains fast: BatchNorm, SGD at a learning rate so low that the loss hardly moves.
const slow = 'model=mlp&hidden=32&act=elu&norm=batch-norm&opt=sgd&lr=0.000001&batch=50&steps=400&eval=20&seed=1&augment=0';

let browser;
let context;
let page;
const problems = [];



async function ready(target = page) {
  await target.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, {
    timeout: 30_000,
  });
}

async function open(query, target = page) {
  await target.goto(`${url}?${query}`);
  await ready(target);
}

const stepCount = async (target = page) => Number(await target.textContent('#step-counter'));

// `clicks` clicks of Step ×10, each waiting for its ten steps.
async function stepTens(clicks) {
  for (let i = 0; i < clicks; i += 1) {
    const before = await stepCount();
    await page.click('#step10');
    await page.waitForFunction((n) => Number(document.querySelector('#step-counter').textContent) >= n + 10, before);
  }
}

async function exportCsv() {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const [header, ...rows] = readFileSync(await download.path(), 'utf8').trim().split('\n');
  const names = header.split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [names[i], Number(v)])));
}

before(async () => {
  mkdirSync(screenshotDir, { recursive: true });
  browser = await chromium.launch({ executablePath, headless: true });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await context.addInitScript(recordLongTasks);
  page = await context.newPage();
  watch(page, problems);
  await open(slow);
});

after(async () => {
  await browser?.close();
});

test('a live learning-rate change: no reset, a marker, the loss falls faster, the CSV and the link record it', async () => {
  await stepTens(10);
  assert.equal(await stepCount(), 100);
  await page.fill('#live-lr', '0.05');
  await page.click('#apply-live');
  await page.waitForFunction(() => /From step 101 on: learning rate 0.05/.test(document.querySelector('#live-message').textContent));
  assert.equal(await stepCount(), 100, 'the change does not start over');
  assert.match(page.url(), /live=100:0\.05:0:0/, 'the link replays the change');
  // Run on (Run, not clicks: the change holds while running) to the end.
  const runStart = await page.evaluate(() => performance.now());
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#step-counter').textContent === '400', null, { timeout: 60_000 });
  const runEnd = await page.evaluate(() => performance.now());
  const rows = await exportCsv();
  const at = (step) => rows.find((row) => row.step === step);
  assert.equal(at(100).learning_rate, 0.000001, 'the CSV: the old rate up to step 100');
  assert.equal(at(120).learning_rate, 0.05, 'the CSV: the new rate after');
  // The slope of the training loss: per step, over the 80 steps before the change and the 80 after.
  const before = (at(20).train_loss - at(100).train_loss) / 80;
  const afterChange = (at(100).train_loss - at(180).train_loss) / 80;
  assert.ok(afterChange > 5 * Math.max(Math.abs(before), 1e-4), `slope before ${before}, after ${afterChange}`);
  const longTasks = await page.evaluate(
    ([from, to]) => window.__longTasks.filter((t) => t.start >= from && t.start <= to && t.duration > 100),
    [runStart, runEnd],
  );
  assert.deepEqual(longTasks, [], 'no main-thread task over 100 ms while training');
});

test('the chart reads out the values under the pointer and switches series off and on', async () => {
  const box = await page.locator('#curves').boundingBox();
  await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.5);
  await page.waitForFunction(() => /step \d+ · train loss/.test(document.querySelector('#chart-readout').textContent));
  // The keyboard reaches the same values.
  await page.focus('#curves');
  await page.keyboard.press('End');
  assert.match(await page.textContent('#chart-readout'), /^step 400 · train loss [\d.]+ · test loss/);
  const drawn = () => page.evaluate(() => document.querySelector('#curves').toDataURL());
  const withTest = await drawn();
  await page.getByLabel('test loss', { exact: true }).uncheck();
  assert.notEqual(await drawn(), withTest, 'the chart changes without the series');
  assert.doesNotMatch(await page.textContent('#chart-readout'), /test loss/);
  await page.getByLabel('test loss', { exact: true }).check();
  assert.equal(await drawn(), withTest);
});

test('the run history keeps runs across a reload and overlays one on the chart', async () => {
  await page.getByRole('button', { name: 'Clear history' }).click();
  await page.waitForFunction(() => document.querySelector('#history-count').textContent.startsWith('0 runs'));
  await open(slow);
  await stepTens(3);
  await page.reload();
  await ready();
  assert.match(await page.textContent('#history-count'), /^1 run kept/);
  const row = page.locator('#history-rows tr').first();
  assert.match(await row.textContent(), /30 of 400/);
  const plain = await page.evaluate(() => document.querySelector('#curves').toDataURL());
  await page.getByLabel(/^Overlay run 1/).check();
  assert.notEqual(await page.evaluate(() => document.querySelector('#curves').toDataURL()), plain,
    'the past run is drawn on the chart');
  await stepTens(1);
  assert.match(await page.textContent('#history-count'), /^2 runs kept/, 'the new run is kept beside it');
  await page.getByRole('button', { name: 'Clear history' }).click();
  assert.match(await page.textContent('#history-count'), /^0 runs/);
  await page.reload();
  await ready();
  assert.match(await page.textContent('#history-count'), /^0 runs/, 'cleared for good');
});

test('a lesson sets up its experiment with its button and shows its number beside the report\'s', async () => {
  await page.selectOption('#lesson', { index: 0 });
  assert.match(await page.textContent('#lesson-title'), /^1\.1 · Backward passes/);
  assert.ok(await page.locator('#lesson-formulas math').count() >= 5, 'the formulas are MathML');
  assert.match(await page.textContent('#lesson-report'), /The report: .* = 0\.00001\./);
  await page.getByRole('button', { name: 'Load the NumPy MLP and check every layer kind' }).click();
  await page.waitForFunction(() => /^This check: \d+ of \d+ rows pass/.test(document.querySelector('#lesson-result').textContent),
    null, { timeout: 60_000 });
  assert.match(page.url(), /init=normal&init-std=0\.0001/, 'the NumPy MLP\'s preset is loaded');
  assert.equal(await page.inputValue('#init'), 'normal', 'the initialisation control shows it');
  // The next lesson trains: its number is the run's test accuracy when the run stops.
  await page.getByRole('button', { name: 'Next' }).click();
  assert.match(await page.textContent('#lesson-title'), /^1\.2 · The NumPy MLP/);
  await page.getByRole('button', { name: 'Load the NumPy MLP and train' }).click();
  await page.waitForFunction(() => Number(document.querySelector('#step-counter').textContent) >= 100);
  await page.click('#pause');
  await page.waitForFunction(() => /^This run, paused at step \d+: test accuracy [\d.]+ %/.test(
    document.querySelector('#lesson-result').textContent));
});

test('a ?lesson= link opens the lesson with its experiment ready', async () => {
  await open('lesson=adam');
  await page.waitForFunction(() => document.querySelector('#lesson-title').textContent.includes('SGD against Adam'));
  await page.waitForFunction(() => location.search.includes('opt=adam'));
  assert.equal(await page.inputValue('#opt'), 'adam');
  assert.equal(await stepCount(), 0, 'ready, not running');
  assert.match(await page.textContent('#lesson-result'), /ready/);
  await open('lesson=nonsense');
  await page.waitForFunction(() => /expected one of derivations, numpy-mlp/.test(document.querySelector('#lesson-message').textContent));
});

test('no console errors', () => {
  assert.deepEqual(problems, []);
});
