// A dropped .tar.gz in the page: the worker inflates it with the browser's own gzip (DecompressionStream,
// www/inflate.js) and the Rust loader walks the tar; a cut archive falls back to the Rust inflater, whose
// message names the file and the problem, and the data loaded before stays. Prints the archive's load time
// (scripts/measure-archive.mjs measures the real 160 MB download the same way).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { drop, file, launch, ready, url, watch } from './support.mjs';

let browser;
let page;
const problems = [];
const workers = [];

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page, problems);
  page.on('worker', (worker) => workers.push(worker));
  await page.goto(url);
  await ready(page);
});

after(async () => {
  await browser?.close();
  assert.deepEqual(problems, []);
});

// How the main training worker inflated the files of the last drop.
const inflated = () => workers[0].evaluate(() => self.backpropLabInflated.map(({ name, inflater }) => ({ name, inflater })));
const message = () => page.textContent('#data-message');

async function dropAndWait(files, done) {
  await drop(page, files);
  await page.waitForFunction(done, null, { timeout: 60_000 });
}

test('a dropped .tar.gz is inflated by the browser and loads; the page says how long it took', async () => {
  const archive = file('cifar-10-binary.tar.gz', 'archive/cifar-10-binary.tar.gz');
  await dropAndWait([archive], () => document.querySelector('#data-message').textContent.startsWith('Loaded'));
  assert.match(await message(), /^Loaded CIFAR-10: 1000 training and 200 test images in \d+\.\d s\./);
  assert.deepEqual(await inflated(), [{ name: 'cifar-10-binary.tar.gz', inflater: 'DecompressionStream' }]);
  const seconds = (await message()).match(/in (\d+\.\d) s/)[1];
  console.log(`archive load time: ${seconds} s for ${(archive.bytes.length / 1e6).toFixed(1)} MB (synthetic)`);
});

test('a cut .tar.gz gets the Rust loader\'s gzip message and the data loaded before stays', async () => {
  const { bytes } = file('cifar-10-binary.tar.gz', 'archive/cifar-10-binary.tar.gz');
  const cut = bytes.subarray(0, bytes.length >> 1);
  await dropAndWait([{ name: 'cut.tar.gz', bytes: cut }], () =>
    document.querySelector('#data-message').textContent.includes('kept'));
  assert.match(await message(), /^cut\.tar\.gz: expected a gzip stream, found corrupt data \(/);
  assert.deepEqual(await inflated(), [{ name: 'cut.tar.gz', inflater: 'wasm' }]);
  assert.equal(await page.textContent('#dataset-name'), 'CIFAR-10');
  assert.equal(Number(await page.textContent('#train-count')), 1000);
});

test('a whole gzip around a cut tar is inflated by the browser and the tar walk names the member', async () => {
  const tar = gunzipSync(file('cifar-10-binary.tar.gz', 'archive/cifar-10-binary.tar.gz').bytes);
  // Cut 1000 bytes into the first member's content (after the folder's header and the member's header).
  const cut = gzipSync(tar.subarray(0, 3 * 512 + 1000));
  await dropAndWait([{ name: 'cut-tar.tar.gz', bytes: cut }], () =>
    document.querySelector('#data-message').textContent.includes('kept'));
  assert.match(
    await message(),
    /^cut-tar\.tar\.gz\/cifar-10-batches-bin\/data_batch_1\.bin: expected a tar archive, found a broken one \(the archive ends \d+ bytes into this \d+-byte member\)/,
  );
  assert.deepEqual(await inflated(), [{ name: 'cut-tar.tar.gz', inflater: 'DecompressionStream' }]);
  assert.equal(Number(await page.textContent('#train-count')), 1000);
});
