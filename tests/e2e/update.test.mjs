// Stale code: the service worker never serves one build's WebAssembly with another build's page. Two builds are
// served one after the other from the same address (build A: dist/ as built; build B: dist/ with its loader
// changed and stamped again by scripts/stamp-build.mjs, so its version and its module's stamp differ).
// Every page and worker must run the WebAssembly of its own page's build: after the update, after a reload,
// offline, and in a page still open on the old build.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { launch, ready, screenshotDir, watch } from './support.mjs';

const dist = process.env.LAB_DIST ?? new URL('../../dist/', import.meta.url).pathname;
const stamp = new URL('../../scripts/stamp-build.mjs', import.meta.url).pathname;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };

let scratch;
let builds;
let root;
let server;
let origin;
let browser;
let context;
const problems = [];

function makeBuild(name, change) {
  const dir = join(scratch, name);
  cpSync(dist, dir, { recursive: true });
  if (change) appendFileSync(join(dir, 'loader.js'), `\n// ${change}\n`);
  execFileSync('node', [stamp, dir]);
  return { dir, version: JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')).build };
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'lab-update-'));
  builds = { A: makeBuild('A'), B: makeBuild('B', 'build B') };
  assert.notEqual(builds.A.version, builds.B.version);
  root = builds.A.dir;
  // A plain static server whose files change under it, as a deploy does (revalidated on every load).
  server = createServer((request, response) => {
    let path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    try {
      const body = readFileSync(join(root, path));
      response.writeHead(200, { 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function open() {
  const page = await context.newPage();
  watch(page, problems);
  await page.goto(origin);
  await ready(page);
  return page;
}

// The build of the page, of its WebAssembly and of every worker's WebAssembly.
async function buildsOf(page) {
  const html = await page.getAttribute('meta[name="backprop-lab-build"]', 'content');
  const wasm = await page.evaluate(() => document.documentElement.dataset.wasmBuild);
  const workers = await Promise.all(page.workers().map((worker) => worker.evaluate(() => self.backpropLabBuild)));
  return { html, wasm, workers };
}

async function expectBuild(page, name, workers = 1) {
  const version = builds[name].version;
  for (let i = 0; i < 100 && page.workers().length !== workers; i++) await page.waitForTimeout(100);
  const found = await buildsOf(page);
  assert.deepEqual(found, { html: version, wasm: version, workers: Array(workers).fill(version) }, `all of build ${name}`);
}

async function cacheNames(page) {
  return page.evaluate(() => caches.keys());
}

async function waitForCache(page, name) {
  const wanted = `backprop-lab-${builds[name].version}`;
  for (let i = 0; i < 600 && !(await cacheNames(page)).includes(wanted); i++) await page.waitForTimeout(100);
  assert.ok((await cacheNames(page)).includes(wanted), `build ${name} is kept offline`);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

test('an update across two builds: page and WebAssembly always of one build, online, offline and in an old tab', async () => {
  const first = await open();
  const old = await open();
  await waitForCache(first, 'A');
  await expectBuild(first, 'A');
  await expectBuild(old, 'A');

  // Build B is deployed: a reload gets page and WebAssembly of B, and B's service worker takes over.
  root = builds.B.dir;
  await first.reload();
  await ready(first);
  await expectBuild(first, 'B');
  await waitForCache(first, 'B');
  const kept = await cacheNames(first);
  assert.ok(kept.includes(`backprop-lab-${builds.A.version}`), 'the previous build stays for pages still open on it');
  assert.ok(kept.length <= 2, `two builds kept at most: ${kept.join(', ')}`);

  // The tab still on A, now under B's service worker, starts a second worker: it gets A's WebAssembly.
  await old.selectOption('#workers', '2');
  await old.waitForFunction(() => document.querySelector('#train-status').textContent.startsWith('2 workers ready'), null, {
    timeout: 90_000,
  });
  await expectBuild(old, 'A', 2);

  // Offline, a reload is served from B's cache: still all B.
  await context.setOffline(true);
  await first.reload();
  await ready(first);
  await expectBuild(first, 'B');
  await context.setOffline(false);
  await first.screenshot({ path: `${screenshotDir}/update.png` });
  // Offline reloads fail the requests that go to the network first (the page, the loader): expected there.
  assert.deepEqual(problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED')), []);
});
