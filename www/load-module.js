// Loads the lab's WebAssembly for the page (loader.js) or a training worker (worker.js), as one build: the
// JavaScript glue and the module are asked for with `?v=BUILD` (the service worker answers from that build's
// cache), and the module's `backprop-lab-build` section (scripts/stamp-build.mjs) must name the same build, so
// a page never runs another build's WebAssembly. `build` is empty in an unstamped build: nothing is checked.
export async function loadModule(build) {
  const version = build ? `?v=${build}` : '';
  const glue = await import(`./backprop-lab.js${version}`);
  const url = new URL(`./backprop-lab_bg.wasm${version}`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`backprop-lab_bg.wasm: expected the module, found HTTP ${response.status}`);
  const module = await WebAssembly.compile(await response.arrayBuffer());
  const [section] = WebAssembly.Module.customSections(module, 'backprop-lab-build');
  const found = section ? new TextDecoder().decode(section) : '';
  if (build && found !== build) {
    throw new Error(`stale code: this page is build ${build}, the WebAssembly it got is build ${found || '(none)'}; reload the page`);
  }
  const exports = await glue.default({ module_or_path: module });
  return { glue, build: found, memory: exports.memory };
}
