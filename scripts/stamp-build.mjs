#!/usr/bin/env node
// Stamps a build of the page with its version, so that the service worker (www/sw.js) never serves one build's
// WebAssembly with another build's page. Trunk runs it after every build (Trunk.toml's post_build hook, on
// TRUNK_STAGING_DIR); by hand: `node scripts/stamp-build.mjs dist`. It
//   1. computes the build's version: a SHA-256 of every file's name and contents (with the stamps below left
//      out, so stamping again gives the same version),
//   2. writes it into index.html (`<meta name="backprop-lab-build">`), into both WebAssembly modules (a custom
//      section of that name, which the loader checks against the page's) and into sw.js (`const BUILD`),
//   3. writes build.json: the version and the SHA-256 of every file the service worker keeps offline.
// The two modules are Trunk's SIMD128 one (backprop-lab_bg.wasm) and the relaxed-SIMD one (scripts/relaxed-wasm);
// each names its kind in a `backprop-lab-simd` section (src/web/simd_kind.rs), checked here: both builds of
// the crate share cargo's output file, and a mix-up must fail the build, not a user's page.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('stamp-build: expected a folder (an argument or TRUNK_STAGING_DIR), found none');
  process.exit(1);
}
const NAME = 'backprop-lab-build';
const WASM = 'backprop-lab_bg.wasm';
const SIMD = 'backprop-lab-simd';
const META = /<meta name="backprop-lab-build" content="[^"]*"\s*\/?>/;
const BUILD_LINE = /const BUILD = '[^']*';/;
// Not kept offline by the service worker: itself (the browser fetches it) and the manifest.
const UNCACHED = new Set(['sw.js', 'build.json']);

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function listFiles(folder) {
  return readdirSync(folder)
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    })
    .map((path) => relative(dir, path).split('\\').join('/'))
    .sort();
}

// WebAssembly's unsigned LEB128.
function readLeb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    if (byte === undefined) throw new Error(`${WASM}: expected a LEB128 number, found the end of the file`);
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

// A module's sections: id byte, LEB128 size, payload; a custom section's (id 0) payload starts with its name.
function* sections(bytes) {
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, payload] = readLeb(bytes, at + 1);
    const end = payload + size;
    let name = null;
    let content = payload;
    if (id === 0) {
      const [length, start] = readLeb(bytes, payload);
      name = Buffer.from(bytes.subarray(start, start + length)).toString('utf8');
      content = start + length;
    }
    yield { start: at, end, name, content: bytes.subarray(content, end) };
    at = end;
  }
}

// The module without our custom section.
function unstampedWasm(bytes) {
  const kept = [bytes.subarray(0, 8)];
  for (const { start, end, name } of sections(bytes)) if (name !== NAME) kept.push(bytes.subarray(start, end));
  return Buffer.concat(kept);
}

// What the module's `backprop-lab-simd` section says it is ('' if it has none).
function simdKind(bytes) {
  for (const { name, content } of sections(bytes)) if (name === SIMD) return Buffer.from(content).toString('utf8');
  return '';
}

function stampedWasm(bytes, build) {
  const name = Buffer.from(NAME);
  const payload = Buffer.concat([Buffer.from(leb(name.length)), name, Buffer.from(build)]);
  return Buffer.concat([bytes, Buffer.from([0, ...leb(payload.length)]), payload]);
}

const files = listFiles(dir).filter((file) => !UNCACHED.has(file));
const modules = files.filter((file) => file.endsWith('.wasm'));
const unstamped = new Map(files.map((file) => {
  let bytes = readFileSync(join(dir, file));
  if (modules.includes(file)) bytes = unstampedWasm(bytes);
  if (file === 'index.html') {
    const html = bytes.toString('utf8');
    if (!META.test(html)) throw new Error(`index.html: expected <meta name="${NAME}" content="">, found none`);
    bytes = Buffer.from(html.replace(META, `<meta name="${NAME}" content="">`));
  }
  return [file, bytes];
}));
if (!unstamped.has(WASM)) throw new Error(`${dir}: expected ${WASM}, found ${files.join(', ')}`);
const kinds = Object.fromEntries(modules.map((file) => [file, simdKind(unstamped.get(file))]));
const relaxed = modules.filter((file) => kinds[file] === 'relaxed-simd');
if (kinds[WASM] !== 'simd128' || relaxed.length !== 1 || modules.length !== 2) {
  throw new Error(`${dir}: expected ${WASM} of kind simd128 and one relaxed-simd module (scripts/relaxed-wasm), found ${JSON.stringify(kinds)}`);
}

const whole = createHash('sha256');
for (const [file, bytes] of unstamped) whole.update(`${file}\0${bytes.length}\0`).update(bytes);
const build = whole.digest('hex').slice(0, 16);

const stamped = new Map(unstamped);
for (const file of modules) stamped.set(file, stampedWasm(unstamped.get(file), build));
stamped.set('index.html', Buffer.from(unstamped.get('index.html').toString('utf8')
  .replace(META, `<meta name="${NAME}" content="${build}">`)));
for (const file of [...modules, 'index.html']) writeFileSync(join(dir, file), stamped.get(file));

const worker = readFileSync(join(dir, 'sw.js'), 'utf8');
if (!BUILD_LINE.test(worker)) throw new Error("sw.js: expected a line `const BUILD = '…';`, found none");
writeFileSync(join(dir, 'sw.js'), worker.replace(BUILD_LINE, `const BUILD = '${build}';`));

const manifest = { build, files: Object.fromEntries([...stamped].map(([file, bytes]) => [file, sha256(bytes)])) };
writeFileSync(join(dir, 'build.json'), `${JSON.stringify(manifest, null, 1)}\n`);
console.log(`stamp-build: ${dir} is build ${build} (${files.length} files)`);
