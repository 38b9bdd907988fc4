// Offline support, one cache per build, never mixing builds. scripts/stamp-build.mjs writes this build's
// version below and lists its files with their SHA-256 in build.json.
// - Installing: every file of the build is fetched and checked against build.json into the cache
//   `backprop-lab-BUILD`; a file that does not match (the site was being updated) fails the install and the
//   previous version stays in charge. Then it takes over at once.
// - The page and its workers ask for the glue and the WebAssembly as `…?v=BUILD` (www/load-module.js): those
//   come from that build's cache while it is kept (this build's and the one before, so a page still open on
//   the old build keeps getting its own files), else from the network.
// - Everything else (the page itself, the loader, the style sheet) comes from the network first, and from this
//   build's cache when the network is gone: the page and its module are then both this build's.
// - Of the two builds of the module (www/simd-builds.js), only the one this browser runs is kept: the
//   service worker detects it as the page does (same engine, same answer); the other is never downloaded.
importScripts('simd-builds.js');

const BUILD = 'unstamped';
const PREFIX = 'backprop-lab-';
const CACHE = PREFIX + BUILD;

self.addEventListener('install', (event) => event.waitUntil(keepBuild().then(() => self.skipWaiting())));

self.addEventListener('activate', (event) => event.waitUntil((async () => {
  // Keep this build's cache and the newest other one; drop the rest (and the caches of older schemes).
  const others = (await caches.keys()).filter((name) => name !== CACHE);
  const previous = others.filter((name) => /^backprop-lab-[0-9a-f]{16}$/.test(name)).at(-1);
  await Promise.all(others.filter((name) => name !== previous).map((name) => caches.delete(name)));
  await self.clients.claim();
})()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  const version = url.searchParams.get('v');
  event.respondWith(version ? fromBuild(version, url) : networkFirst(request, url));
});

async function sha256(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

async function keepBuild() {
  if (BUILD === 'unstamped') return; // a build without scripts/stamp-build.mjs: nothing is kept offline
  const manifest = await (await fetch('build.json', { cache: 'no-store' })).json();
  if (manifest.build !== BUILD) {
    throw new Error(`build.json: expected build ${BUILD}, found ${manifest.build} (the site is being updated)`);
  }
  const chosen = self.backpropLabBuilds.detect();
  const unused = new Set(Object.entries(self.backpropLabBuilds.files)
    .filter(([kind]) => kind !== chosen)
    .flatMap(([, { glue, wasm }]) => [glue, wasm]));
  const wanted = Object.entries(manifest.files).filter(([file]) => !unused.has(file));
  const files = await Promise.all(wanted.map(async ([file, digest]) => {
    const response = await fetch(file, { cache: 'no-store' });
    const found = response.ok ? await sha256(await response.clone().arrayBuffer()) : `HTTP ${response.status}`;
    if (found !== digest) throw new Error(`${file}: expected build ${BUILD}'s file, found another (${found})`);
    return [file, response];
  }));
  const cache = await caches.open(CACHE);
  await Promise.all(files.map(([file, response]) => cache.put(file, response)));
}

// The path a build's cache keeps a response under (the page itself is index.html).
function kept(url) {
  const path = new URL(url.pathname, self.location).pathname;
  const scope = new URL('./', self.location).pathname;
  return path === scope ? `${scope}index.html` : path;
}

async function fromBuild(version, url) {
  return answer(await caches.match(kept(url), { cacheName: PREFIX + version })) ?? fetch(url, { cache: 'no-cache' });
}

// A kept response as a new one: without the URL it was kept under, so that a worker started as
// `worker.js?v=BUILD` keeps that address (its `import.meta.url`, which says its build).
function answer(kept) {
  return kept && new Response(kept.body, { status: kept.status, statusText: kept.statusText, headers: kept.headers });
}

async function networkFirst(request, url) {
  try {
    return await fetch(request);
  } catch (error) {
    return answer(await caches.match(kept(url), { cacheName: CACHE })) ?? Response.error();
  }
}
