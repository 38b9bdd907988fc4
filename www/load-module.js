// Loads the lab's WebAssembly for the page (loader.js) or a training worker (worker.js), as one build: the
// JavaScript glue and the module are asked for with `?v=BUILD` (the service worker answers from that build's
// cache), and the module's `backprop-lab-build` section (scripts/stamp-build.mjs) must name the same build, so
// a page never runs another build's WebAssembly. `build` is empty in an unstamped build: nothing is checked.
// `simd` picks one of the two builds of the module (www/simd-builds.js): the page detects it, and passes its
// choice to its workers (src/web/rpc.rs), so that all of them run the same code. The module's own
// `backprop-lab-simd` section must say the kind that was asked for.
// `module` (a promise of one): the module the page compiled, which it hands to each worker it starts, so that the
// page and all its workers compile the WebAssembly once; without one, the module is downloaded and compiled here.
import './simd-builds.js';

export async function loadModule(build, simd = self.backpropLabBuilds.detect(), module = null) {
  const files = self.backpropLabBuilds.files[simd];
  if (!files) throw new Error(`expected the module kind relaxed-simd or simd128, found '${simd}'`);
  const version = build ? `?v=${build}` : '';
  // The glue is asked for while the module downloads and compiles.
  const [glue, compiled] = await Promise.all([
    import(`./${files.glue}${version}`),
    Promise.resolve(module).then((handed) => handed ?? compile(files.wasm, new URL(`./${files.wasm}${version}`, import.meta.url))),
  ]);
  const found = section(compiled, 'backprop-lab-build');
  if (build && found !== build) {
    throw new Error(`stale code: this page is build ${build}, the WebAssembly it got is build ${found || '(none)'}; reload the page`);
  }
  const kind = section(compiled, 'backprop-lab-simd');
  if (kind !== simd) throw new Error(`${files.wasm}: expected the ${simd} module, found ${kind || 'a module that does not say'}`);
  const exports = await glue.default({ module_or_path: compiled });
  return { glue, build: found, simd, memory: exports.memory };
}

// Compiles the module while it downloads where the server says it is WebAssembly (`application/wasm`, which
// streaming compilation requires); otherwise from the whole download.
async function compile(name, url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${name}: expected the module, found HTTP ${response.status}`);
  if (response.headers.get('Content-Type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}

function section(module, name) {
  const [bytes] = WebAssembly.Module.customSections(module, name);
  return bytes ? new TextDecoder().decode(bytes) : '';
}
