#!/usr/bin/env node
// Measures loading whole CIFAR-10 downloads in the page (not a test: it needs the real files, which never
// go in the repository): `node scripts/measure-archive.mjs FILE.tar.gz...` after `trunk build --release`.
// Serves dist/ on a free localhost port, opens the page in headless Chromium (Debian's, through
// playwright-core), picks each file with the file picker as a person would, and prints the time the page
// reports ("Loaded … in N s": from the pick to the data shown, reading and decoding included), once with the
// browser's gzip (DecompressionStream, www/inflate.js) and once with it hidden from the workers, so the Rust
// inflater (flate2 in wasm) does the work: both in the same run, on the same machine.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const dist = new URL('../dist/', import.meta.url).pathname;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/measure-archive.mjs FILE.tar.gz...');
  process.exit(2);
}
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = createServer(async (request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, 'http://localhost').pathname));
  try {
    const file = path.endsWith('/') ? `${path}index.html` : path;
    const body = await readFile(join(dist, file));
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true });
try {
  for (const inflater of ['DecompressionStream', 'wasm']) {
    for (const file of files) {
      const page = await browser.newPage();
      const workers = [];
      page.on('worker', (worker) => workers.push(worker));
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Ready.', null, {
        timeout: 120_000,
      });
      if (inflater === 'wasm') {
        await Promise.all(workers.map((worker) => worker.evaluate(() => { self.DecompressionStream = undefined; })));
      }
      await page.setInputFiles('#file-input', file);
      await page.waitForFunction(() => /^Loaded|kept/.test(document.querySelector('#data-message').textContent), null, {
        timeout: 300_000,
      });
      const message = await page.textContent('#data-message');
      // The page has more than one worker (training, the second training worker, transfer): the one that
      // loaded the file is the one whose inflater log is not empty.
      const logs = await Promise.all(workers.map((worker) => worker.evaluate(() => self.backpropLabInflated ?? [])));
      const [used] = logs.find((log) => log.length > 0) ?? [{ inflater: 'none recorded', ms: 0 }];
      const inflating = used.inflater === 'DecompressionStream' ? `, ${(used.ms / 1e3).toFixed(1)} s of it inflating` : '';
      console.log(`${file}: ${message.match(/in ([\d.]+ s)/)?.[1] ?? message} (inflated by ${used.inflater}${inflating})`);
      await page.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}
