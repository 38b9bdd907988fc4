// Weights and runs in the page, as a person uses them: Download weights, reload, Load weights (picked or
// dropped) and get the same test results; a file of another model loaded into the current one names every
// mismatched tensor; a bad file changes nothing; Save run, reload, Resume run, and the run continues exactly as
// the uninterrupted one (the same curves, step for step).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { drop, launch, ready, screenshotDir, stepCount, url, waitForStep, watch } from './support.mjs';

// A small MLP with BatchNorm (running statistics travel too) on the built-in generated data.
const QUERY = '?model=mlp&hidden=20&act=elu&norm=batch-norm&opt=adam&lr=0.001&batch=50&steps=60&eval=5&seed=3';

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  watch(page, problems);
});

after(async () => {
  if (page) await page.screenshot({ path: `${screenshotDir}/weights.png`, fullPage: true });
  await browser?.close();
});

const text = (selector) => page.textContent(selector);

async function open(query = QUERY) {
  await page.goto(new URL(query, url).href);
  await ready(page);
}

async function steps(count) {
  const target = (await stepCount(page)) + count;
  await page.getByRole('button', { name: 'Step ×10' }).click();
  await waitForStep(page, `n === ${target}`);
}

// The test loss and accuracy the page shows after `Evaluate on the whole test set`.
async function evaluation() {
  await page.getByRole('button', { name: 'Evaluate on the whole test set' }).click();
  await page.waitForFunction(() => document.querySelector('#train-status').textContent.startsWith('Test loss'));
  return (await text('#train-status')).replace(/ \(step \d+\)\.$/, '');
}

// The bytes and name of the download `action` starts.
async function downloaded(action) {
  const [download] = await Promise.all([page.waitForEvent('download'), action()]);
  return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
}

async function message(pattern) {
  await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#weights-message').textContent),
    pattern.source, { timeout: 30_000 });
  return text('#weights-message');
}

test('downloaded weights, loaded after a reload, give the same test results', async () => {
  await open();
  await steps(10);
  const trained = await evaluation();
  // From the keyboard: focus the button and press Enter.
  await page.focus('#download-weights');
  const weights = await downloaded(() => page.keyboard.press('Enter'));
  assert.equal(weights.name, 'weights.safetensors');
  const header = weights.bytes.subarray(8, 8 + Number(weights.bytes.readBigUInt64LE(0))).toString();
  assert.match(header, /"1\.running_mean"/, 'PyTorch state_dict names');
  assert.match(header, /backprop_lab\.model/, 'the configuration in the metadata');

  await page.reload();
  await ready(page);
  assert.equal(await stepCount(page), 0);
  assert.notEqual(await evaluation(), trained, 'a fresh model scores differently');
  await page.setInputFiles('#load-weights', { name: 'weights.safetensors', mimeType: 'application/octet-stream', buffer: weights.bytes });
  assert.match(await message(/^Loaded/), /Loaded weights\.safetensors into the model its metadata describes: 9 tensors/);
  assert.equal(await evaluation(), trained, 'the same test loss and accuracy');

  // A file of another model, loaded into the current one: every mismatched tensor is named; nothing changes.
  await open(QUERY.replace('hidden=20', 'hidden=30'));
  await steps(10);
  const before = await evaluation();
  await page.check('#load-into-current');
  await drop(page, [{ name: 'weights.safetensors', bytes: weights.bytes }], '#weights-drop');
  const mismatch = await message(/do not match/);
  for (const line of [
    '0.weight: expected shape [30, 3072], found [20, 3072]',
    '0.bias: expected shape [30], found [20]',
    '1.running_var: expected shape [30], found [20]',
    '3.weight: expected shape [10, 30], found [10, 20]',
  ]) assert.ok(mismatch.includes(line), `${line} in: ${mismatch}`);
  assert.match(mismatch, /unchanged/);
  assert.equal(await page.getAttribute('#weights-message', 'class'), 'error', 'shown as an error');
  assert.equal(await stepCount(page), 10, 'the run is untouched');
  assert.equal(await evaluation(), before, 'the model is untouched');
  await page.uncheck('#load-into-current');
});

test('bad files get a clear message and change nothing', async () => {
  const before = await evaluation();
  const valid = await downloaded(() => page.click('#download-weights'));
  const claimsMore = Buffer.from(valid.bytes);
  claimsMore.writeBigUInt64LE(1n << 40n, 0);
  for (const [name, bytes, expected] of [
    ['notes.safetensors', Buffer.from('these are not weights'), /expected a safetensors file/],
    ['cut.safetensors', valid.bytes.subarray(0, valid.bytes.length - 9), /truncated/],
    ['claims.safetensors', claimsMore, /header length/],
  ]) {
    await page.setInputFiles('#load-weights', { name, mimeType: 'application/octet-stream', buffer: bytes });
    const shown = await message(new RegExp(name.replace('.', '\\.')));
    assert.match(shown, expected);
    assert.match(shown, /unchanged/);
    assert.equal(await stepCount(page), 10);
    assert.equal(await evaluation(), before);
  }
  assert.match(await text('#dataset-name'), /^synthetic/, 'the data stays');
});

test('Save run, reload, Resume run: the run continues exactly as the uninterrupted one', async () => {
  const csv = async () => {
    const exported = await downloaded(() => page.click('#export-csv'));
    return exported.bytes.toString();
  };
  await open();
  await steps(10);
  const run = await downloaded(() => page.getByRole('button', { name: 'Save run' }).click());
  assert.equal(run.name, 'run-step-10.safetensors');
  await steps(10);
  await steps(10);
  const uninterrupted = { status: await text('#train-status'), curves: await csv() };
  assert.equal(uninterrupted.curves.trim().split('\n').length, 1 + 6, 'a point every 5 steps');

  await page.reload();
  await ready(page);
  assert.equal(await stepCount(page), 0);
  await page.setInputFiles('#resume-file', { name: run.name, mimeType: 'application/octet-stream', buffer: run.bytes });
  assert.match(await message(/^Resumed/), /Resumed run-step-10\.safetensors at step 10 of 60/);
  assert.equal(await stepCount(page), 10, 'the counter continues from the saved step');
  assert.equal((await csv()).trim().split('\n').length, 1 + 2, 'the curve so far came back');
  await steps(10);
  await steps(10);
  assert.equal(await text('#train-status'), uninterrupted.status);
  assert.equal(await csv(), uninterrupted.curves, 'the same curves, bit for bit');
});

test('no console errors or failed requests', () => {
  assert.deepEqual(problems, []);
});
