// Starts the lab: loads the WebAssembly of this page's build (load-module.js), whose start function fills the
// page (src/web/mod.rs). A file of its own rather than the inline script Trunk writes by default (Trunk.toml's
// `pattern_script` points here), so that the page's Content-Security-Policy can refuse every inline script.
import { loadModule } from './load-module.js';

// The page's line about the module it runs.
const BUILD_INFO = {
  'relaxed-simd': 'WebAssembly with relaxed SIMD (fused multiply-add in the matrix products)',
  simd128: 'WebAssembly with SIMD128 (this browser has no relaxed SIMD)',
};

const build = document.querySelector('meta[name="backprop-lab-build"]')?.content ?? '';
try {
  // Which of the two modules runs (www/simd-builds.js), said before the module starts: its start function
  // starts the training workers, which load the same one (src/web/rpc.rs).
  const simd = self.backpropLabBuilds.detect();
  document.documentElement.dataset.wasmSimd = simd;
  startFirstWorker(build, simd);
  const { build: wasmBuild, memory } = await loadModule(build, simd);
  document.documentElement.dataset.wasmBuild = wasmBuild;
  // For the tests (tests/e2e/relaxed.test.mjs): the kind of module the page runs (its section said so).
  globalThis.backpropLabSimd = simd;
  const info = document.getElementById('build-info');
  if (info) info.textContent = `${BUILD_INFO[simd]}${wasmBuild ? `, build ${wasmBuild}` : ''}.`;
  // For measurements (scripts/soak): the module's memory.
  globalThis.backpropLabMemory = memory;
} catch (error) {
  const status = document.getElementById('status');
  if (status) {
    status.textContent = `The lab could not start: ${error.message}`;
    status.classList.add('error');
  }
  throw error;
}

// The training worker starts now, while the page's module downloads and compiles: a worker takes a while to
// start, and it waits for the module anyway (src/web/rpc.rs takes it as worker 0 and hands it the module; its
// address is the one rpc.rs's worker_url gives every later worker). An error before then is shown here.
function startFirstWorker(build, simd) {
  const url = new URL('./worker.js', import.meta.url);
  if (build) url.searchParams.set('v', build);
  if (simd) url.searchParams.set('simd', simd);
  const worker = new Worker(url, { type: 'module' });
  worker.addEventListener('error', (event) => {
    if (globalThis.backpropLabFirstWorker !== worker) return; // the page has it: rpc.rs reports its errors
    const status = document.getElementById('status');
    if (status) {
      status.textContent = `The lab could not start: its training worker failed (${event.message || 'no reason given'})`;
      status.classList.add('error');
    }
  });
  globalThis.backpropLabFirstWorker = worker;
}
