// Starts the lab: loads the WebAssembly of this page's build (load-module.js), whose start function fills the
// page (src/web/mod.rs). A file of its own rather than the inline script Trunk writes by default (Trunk.toml's
// `pattern_script` points here), so that the page's Content-Security-Policy can refuse every inline script.
import { loadModule } from './load-module.js';

const build = document.querySelector('meta[name="backprop-lab-build"]')?.content ?? '';
try {
  const { build: wasmBuild, memory } = await loadModule(build);
  document.documentElement.dataset.wasmBuild = wasmBuild;
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
