// End-to-end tests of the built lab (`trunk build --release` → dist/), served on localhost, driven the way a
// person uses it: clicks, file drops, the file picker, a shared link. Run by ./scripts/test, which serves
// dist/, writes small CIFAR-format files with `lab synth` into LAB_DATA and sets LAB_URL. Uses Debian's
// Chromium through playwright-core (never a downloaded browser). Leaves screenshots in target/e2e/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { drop as dropOn, file, recordAnswered, recordLongTasks, stepCount as stepCountOf, waitForStep as waitForStepOf } from './support.mjs';

const url = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const data = process.env.LAB_DATA ?? new URL('../../target/e2e/data/', import.meta.url).pathname;
const screenshotDir = new URL('../../target/e2e/', import.meta.url).pathname;

let browser;
let page;
const problems = [];

function watch(target) {
  target.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
  });
  target.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  target.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  target.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  target.on('request', (request) => {
    const origin = new URL(url).origin;
    if (!request.url().startsWith(origin) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) {
      problems.push(`request left the page: ${request.url()}`);
    }
  });
}


async function ready(target = page) {
  await target.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, {
    timeout: 30_000,
  });
}

const text = (selector) => page.textContent(selector);
const stepCount = () => stepCountOf(page);
const chart = () => page.evaluate(() => document.querySelector('#curves').toDataURL());

// Polls the step counter (see support.mjs).
const waitForStep = (predicate, timeout = 60_000) => waitForStepOf(page, predicate, timeout);

// Drops files onto the drop zone as a person dragging them from the desktop would (see support.mjs).
const drop = (files) => dropOn(page, files);


before(async () => {
  mkdirSync(screenshotDir, { recursive: true });
  browser = await chromium.launch({ executablePath, headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page);
  await page.addInitScript(recordLongTasks);
  await page.addInitScript(recordAnswered);
  await page.goto(url);
  await ready();
  // Printed, not asserted (a slower machine must pass too): from the module's start to Step enabled, and to
  // the page's main thread next free to answer a click; from the navigation, when the module started and when
  // the page answered (the page's own clock, performance.now()).
  const interactive = Number(await page.getAttribute('#status', 'data-interactive-ms'));
  const moduleStarted = Number(await page.getAttribute('#status', 'data-module-started-ms'));
  await page.waitForFunction(() => window.__answered !== undefined);
  const { answered } = await page.evaluate(() => window.__answered);
  console.log(`time to interactive: ${interactive} ms after the module started (Step enabled; the page answered at ${
    (answered - moduleStarted).toFixed(0)} ms); the module started ${moduleStarted} ms and the page answered ${
    answered.toFixed(0)} ms after navigation`);
});

after(async () => {
  if (page) await page.screenshot({ path: `${screenshotDir}/lab.png`, fullPage: true });
  await browser?.close();
});

test('the page opens on the generated data set, ready at once', async () => {
  assert.match(await text('#dataset-name'), /^synthetic-10/);
  assert.equal(Number(await text('#train-count')), 5000);
  assert.equal(Number(await text('#test-count')), 1000);
  assert.equal(await page.locator('#class-rows tr').count(), 10);
  assert.equal(await stepCount(), 0);
  assert.equal(await text('#step-total'), '1400');
  assert.ok(await page.locator('#layers button').count() >= 3, 'the model diagram lists the layers');
  assert.match(page.url(), /\?model=mlp&hidden=100&act=elu/, 'the configuration is in the address');
  assert.match(await page.$eval('#preset', (s) => s.selectedOptions[0].textContent), /^Table 1 row 1: SGD, ELU/,
    'the default configuration is the report\'s first row, and the preset list says so');
});

test('Step and Step ×10 train and the curves change', async () => {
  const before = await chart();
  await page.click('#step');
  await waitForStep('n === 1');
  await page.click('#step10');
  await waitForStep('n === 11');
  assert.match(await text('#train-status'), /^Step 11 of 1400: batch loss [\d.]+/);
  assert.notEqual(await chart(), before, 'the chart shows the new batch losses');
});

test('Run trains in the worker without freezing the page, Pause stops, Run resumes, Reset starts over', async () => {
  const runStart = await page.evaluate(() => performance.now());
  await page.click('#run');
  await waitForStep('n >= 210', 120_000);
  // The page stays responsive while the worker trains: a click on the large-type toggle takes effect at once.
  await page.click('#large-type');
  assert.equal(await page.evaluate(() => document.body.classList.contains('large')), true);
  await page.click('#large-type');
  await page.click('#pause');
  const runEnd = await page.evaluate(() => performance.now());
  await page.waitForTimeout(600);
  const paused = await stepCount();
  await page.waitForTimeout(800);
  assert.equal(await stepCount(), paused, 'no steps after Pause');
  assert.match(await text('#train-status'), /test accuracy [\d.]+ % at step [1-9]\d*00 \(whole test set\)/);
  const longTasks = await page.evaluate(
    ([from, to]) => window.__longTasks.filter((t) => t.start >= from && t.start <= to && t.duration > 100),
    [runStart, runEnd],
  );
  assert.deepEqual(longTasks, [], 'no main-thread task over 100 ms while training');
  const speed = Number(await text('#speed'));
  assert.ok(speed > 0, `images/s shown: ${speed}`);
  console.log(`training speed shown by the page (MLP 3072-100-10, batch 200): ${speed} images/s`);
  // The time to the end: the remaining steps' images at that speed, as the page shows it.
  const [done, total] = [await stepCount(), Number(await text('#step-total'))];
  const left = await text('#time-left');
  const match = left.match(/^≈ (?:(\d+) h )?(?:(\d+) min )?(\d+) s$|^≈ (\d+) h (\d+) min$/);
  assert.ok(match, `time to the end shown: ${left}`);
  const seconds = match[4] !== undefined
    ? Number(match[4]) * 3600 + Number(match[5]) * 60
    : Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3]);
  const expected = ((total - done) * 200) / speed;
  assert.ok(Math.abs(seconds - expected) <= Math.max(1, 0.15 * expected), `${left} for ${total - done} steps at ${speed} images/s`);

  await page.click('#run');
  await waitForStep(`n > ${paused}`);
  await page.click('#pause');
  await page.click('#reset');
  await waitForStep('n === 0');
  await page.waitForFunction(() => document.querySelector('#train-status').textContent.startsWith('Reset'));
});

test('the same seed and configuration give the same curve', async () => {
  await page.click('#step10');
  await waitForStep('n === 10');
  const first = await text('#train-status');
  await page.click('#reset');
  await waitForStep('n === 0');
  await page.click('#step10');
  await waitForStep('n === 10');
  assert.equal(await text('#train-status'), first);
});

test('Check gradients: every row of the current model passes, and so does the whole suite', async () => {
  await page.click('#check-gradients');
  await page.waitForFunction(() => /passed \(current model/.test(document.querySelector('#gradcheck-summary').textContent), null, {
    timeout: 120_000,
  });
  let rows = await page.locator('#gradcheck-rows tr').count();
  assert.ok(rows >= 5, `rows: ${rows}`);
  assert.equal(await page.locator('#gradcheck-rows td.pass').count(), rows);
  assert.match(await text('#gradcheck-summary'), new RegExp(`^${rows} of ${rows} gradient checks passed`));

  await page.click('#check-suite');
  await page.waitForFunction(() => /^\d+ of \d+ gradient checks passed\.$/.test(document.querySelector('#gradcheck-summary').textContent), null, {
    timeout: 180_000,
  });
  rows = await page.locator('#gradcheck-rows tr').count();
  assert.ok(rows > 50, `suite rows: ${rows}`);
  assert.equal(await page.locator('#gradcheck-rows td.pass').count(), rows);
});

test('a layer opens with its MathML formulas and live histograms', async () => {
  await page.click('#layers button >> nth=0');
  await page.waitForSelector('#inspector:not([hidden])');
  assert.match(await text('#inspect-name'), /Linear\(3072→100\)/);
  assert.ok(await page.locator('#inspect-forward math').count() >= 1);
  assert.ok(await page.locator('#inspect-backward math').count() >= 3);
  assert.ok(await page.locator('#inspect-tensors canvas').count() >= 6);
  await page.click('#show-filters');
  await page.waitForFunction(() => document.querySelector('#filters-caption').textContent.includes('filters'));
});

test('results: confusion matrix, gallery and your own picture', async () => {
  await page.click('#show-results');
  await page.waitForFunction(() => document.querySelector('#results-summary').textContent.startsWith('Test accuracy'), null, {
    timeout: 60_000,
  });
  assert.equal(await page.locator('#confusion tr').count(), 11);
  assert.equal(await page.locator('#gallery figure').count(), 40);
  const picture = await page.locator('#samples').screenshot();
  await page.setInputFiles('#own-image', { name: 'mine.png', mimeType: 'image/png', buffer: picture });
  await page.waitForFunction(() => document.querySelectorAll('#own-probabilities li').length === 10);
  const shares = await page.$$eval('#own-probabilities .bar-value', (cells) => cells.map((c) => parseFloat(c.textContent)));
  const total = shares.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 100) < 1, `probabilities sum to ${total} %`);
});

test('a corrupt file gives a clear message and keeps the loaded data', async () => {
  const junk = Buffer.alloc(5000, 7);
  await drop([{ name: 'data_batch_1.bin', bytes: junk }]);
  await page.waitForFunction(() => document.querySelector('#data-message').textContent.includes('kept'));
  const message = await text('#data-message');
  assert.match(message, /data_batch_1\.bin/);
  assert.equal(await page.getAttribute('#data-message', 'class'), 'error', 'shown as an error');
  assert.match(await text('#dataset-name'), /^synthetic-10/);
  assert.equal(Number(await text('#train-count')), 5000);
  await page.screenshot({ path: `${screenshotDir}/corrupt-file.png` });
});

test('dropped .bin batches replace the data and training runs on them', async () => {
  await drop([file('data_batch_1.bin', 'bin/data_batch_1.bin'), file('test_batch.bin', 'bin/test_batch.bin')]);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, {
    timeout: 30_000,
  });
  assert.equal(Number(await text('#train-count')), 1000);
  assert.equal(Number(await text('#test-count')), 200);
  assert.match(await text('#data-message'), /^Loaded CIFAR-10/);
  assert.equal(await stepCount(), 0, 'training starts over on the new data');
  await page.click('#step10');
  await waitForStep('n === 10');
});

test('a dropped .tar.gz archive loads too (through the file picker as well)', async () => {
  await page.click('#use-synthetic');
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent.startsWith('synthetic'));
  await page.setInputFiles('#file-input', `${data}/archive/cifar-10-binary.tar.gz`);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, {
    timeout: 30_000,
  });
  assert.equal(Number(await text('#train-count')), 1000);
  await page.click('#step10');
  await waitForStep('n === 10');
  await page.click('#use-synthetic');
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent.startsWith('synthetic'));
  await drop([file('cifar-10-python.tar.gz', 'python-archive/cifar-10-python.tar.gz')]);
  await page.waitForFunction(() => document.querySelector('#dataset-name').textContent === 'CIFAR-10', null, {
    timeout: 30_000,
  });
  assert.equal(Number(await text('#test-count')), 200);
});

test('a too-high learning rate pauses training and says why', async () => {
  await page.fill('#lr', '100');
  await page.press('#lr', 'Enter');
  await page.waitForFunction(() => location.search.includes('lr=100'));
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#train-message').textContent.includes('learning rate'), null, {
    timeout: 60_000,
  });
  assert.equal(await page.isEnabled('#run'), true, 'training is paused, Run is available again');
  assert.equal(await page.isDisabled('#pause'), true);
});

test('a shared link reopens the same configuration', async () => {
  await page.selectOption('#preset', { index: 8 }); // Table 1 row 8: Adam, ELU, BatchNorm, 150×5, 2500 steps
  await page.waitForFunction(() => location.search.includes('hidden=150,150,150,150,150'));
  const shared = page.url();
  const second = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(second);
  await second.goto(shared);
  await ready(second);
  assert.equal(await second.inputValue('#hidden'), '150,150,150,150,150');
  assert.equal(await second.inputValue('#opt'), 'adam');
  assert.equal(await second.inputValue('#norm'), 'batch-norm');
  assert.equal(await second.textContent('#step-total'), '2500');
  assert.match(await second.textContent('#layers'), /BatchNorm1d\(150\)/);
  // A bad value in a link is named, and the page falls back to the defaults.
  await second.goto(`${url}?model=mlp&lr=banana`);
  await ready(second);
  assert.match(await second.textContent('#config-message'), /lr: expected a learning rate/);
  await second.close();
});

test('the CNN models build in the page', async () => {
  await page.selectOption('#model', 'small-cnn');
  await page.waitForFunction(() => document.querySelector('#layers').textContent.includes('Conv2d(3→24'));
  assert.match(await text('#model-facts'), /221\u202f026 parameters/);
  await page.click('#step');
  await waitForStep('n === 1');
  await page.selectOption('#model', 'convnet');
  await page.waitForFunction(() => document.querySelector('#layers').textContent.includes('PreAct'), null, { timeout: 30_000 });
  assert.match(await text('#model-facts'), /11\u202f138\u202f122 parameters/);
  await page.selectOption('#model', 'mlp');
  await page.waitForFunction(() => document.querySelector('#step-total').textContent === '1400');
});

test('the Table 1 queue runs its rows in turn and can be stopped', async () => {
  await page.click('#run-experiments');
  await page.waitForFunction(() => document.querySelector('#experiment-rows tr td:last-child')?.textContent === 'running');
  assert.equal(await page.locator('#experiment-rows tr').count(), 8);
  await waitForStep('n >= 20');
  await page.click('#stop-experiments');
  await page.waitForFunction(() => document.querySelector('#experiment-rows tr td:last-child')?.textContent === 'stopped');
});

test('two workers train data-parallel: the same numbers as one; both speeds printed (a loaded machine cannot show the gain)', async () => {
  const loss = async () => Number((await text('#train-status')).match(/batch loss ([\d.]+)/)[1]);
  const measure = async () => {
    await page.click('#run');
    await waitForStep('n >= 3', 120_000).catch(async (error) => {
      throw new Error(`${error.message}; page: ${await text('#step-counter')} | ${await text('#train-status')} | ${await text('#train-message')}`);
    });
    await page.waitForTimeout(6000);
    await page.click('#pause');
    return Number(await text('#speed'));
  };
  const setWorkers = async (count) => {
    await page.selectOption('#workers', String(count));
    await page.waitForFunction(
      (count) => count === 1 ? document.querySelector('#step-counter').textContent === '0'
        : document.querySelector('#train-status').textContent.startsWith(`${count} workers ready`),
      count, { timeout: 60_000 });
    await waitForStep('n === 0');
  };
  await page.goto(url);
  await ready();
  const cores = await page.locator('#workers option').count();
  assert.ok(cores >= 2, `a worker per core is offered (${cores})`);
  await page.click('#step10');
  await waitForStep('n === 10');
  const one = await loss();
  await setWorkers(2);
  await page.click('#step10');
  await waitForStep('n === 10');
  const two = await loss();
  assert.ok(Math.abs(one - two) <= 1e-2 * one, `batch loss at step 10: one worker ${one}, two workers ${two}`);

  // Speed on the small CNN (the page's images/s: wall time per step, messages included).
  await page.selectOption('#model', 'small-cnn');
  await page.waitForFunction(() => document.querySelector('#layers').textContent.includes('Conv2d(3→24'));
  await waitForStep('n === 0');
  const twoSpeed = await measure();
  await setWorkers(1);
  const oneSpeed = await measure();
  console.log(`small CNN training in the page: 1 worker ${oneSpeed} images/s, 2 workers ${twoSpeed} images/s (×${(twoSpeed / oneSpeed).toFixed(2)}) on ${cores} cores`);
  assert.ok(oneSpeed > 0 && twoSpeed > 0);
});

test('the README screenshot: the default MLP after 300 steps, its gradient check and first layer', async () => {
  await page.goto(url);
  await ready();
  await page.click('#run');
  await waitForStep('n >= 300', 120_000);
  await page.click('#pause');
  await page.click('#check-gradients');
  await page.waitForFunction(() => /passed \(current model/.test(document.querySelector('#gradcheck-summary').textContent), null, {
    timeout: 120_000,
  });
  await page.click('#layers button >> nth=0');
  await page.waitForSelector('#inspector:not([hidden])');
  await page.click('#show-results');
  await page.waitForFunction(() => document.querySelector('#results-summary').textContent.startsWith('Test accuracy'));
  assert.equal(await page.locator('.error').count(), 0, 'no error shown');
  await page.screenshot({ path: `${screenshotDir}/readme.png`, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 2750 } });
});

test('the curves export as CSV and the chart as PNG', async () => {
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  assert.equal(csv.suggestedFilename(), 'curves.csv');
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.equal(lines[0], 'step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,momentum,weight_decay');
  assert.ok(lines.length >= 4, `a row per evaluation: ${lines.length - 1}`);
  assert.match(lines[1], /^100(,[\d.e-]+){7}$/);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
  assert.equal(png.suggestedFilename(), 'curves.png');
  const bytes = readFileSync(await png.path());
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
});

test('after the first visit the page works offline', async () => {
  const before = problems.length;
  await page.context().setOffline(true);
  try {
    await page.reload();
    await ready();
    await page.click('#step10');
    await waitForStep('n === 10');
  } finally {
    await page.context().setOffline(false);
  }
  // Requests the offline cache answered may still be logged as failed on their way through the network.
  problems.splice(before, problems.length - before, ...problems.slice(before).filter((p) => !/INTERNET_DISCONNECTED/.test(p)));
});

test('no console errors, no failed requests, nothing left the page', () => {
  assert.deepEqual(problems, []);
});
