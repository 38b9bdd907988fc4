// The training worker: loads the same wasm module as the page and hands every message to the Rust
// session (`WorkerSession`, src/web/worker.rs), so training never blocks the page. The protocol (the
// request and response are the typed `Request` / `Response` of src/session/protocol.rs as JS values):
// page → worker { module } first (the compiled WebAssembly.Module), then
//   { id, request, files: [{ name, bytes: Uint8Array }], pixels: Uint8Array }
// worker → page { id, response, pixels: Uint8Array } (and once { ready: true } after loading); when the
// module traps, { panic } (from the panic hook, if it was a panic) then { id, trapped } and the worker closes.
import { inflateFiles, inflated } from './inflate.js';
import { loadModule } from './load-module.js';

// The page starts this file as `worker.js?v=BUILD&simd=KIND`: the worker loads the WebAssembly of the page's
// build, the same one of its two modules as the page (www/simd-builds.js). The page's first message hands it the
// module the page compiled (`{ module }`, src/web/rpc.rs): listened for before anything is awaited, so that it
// cannot arrive unheard.
const handed = new Promise((resolve) => {
  self.addEventListener('message', ({ data }) => resolve(data?.module instanceof WebAssembly.Module ? data.module : null), { once: true });
});
const query = new URL(import.meta.url).searchParams;
const { glue, build, simd, memory } = await loadModule(query.get('v') ?? '', query.get('simd') ?? undefined, handed);
// For the tests and measurements (tests/e2e/update.test.mjs, relaxed.test.mjs, scripts/soak): this worker's
// build, module kind and memory.
self.backpropLabBuild = build;
self.backpropLabSimd = simd;
self.backpropLabMemory = memory;
// For the tests and measurements (tests/e2e/archive.test.mjs): how the last gzipped files were inflated.
self.backpropLabInflated = inflated;
const session = new glue.WorkerSession();
const maxInflated = glue.WorkerSession.maxInflatedBytes();
// Gzipped files are inflated by the browser first (www/inflate.js), and a request that waits for the GPU (a
// WebGPU step) is a promise: both asynchronous, so messages are handled one after another, in order. The
// page's WebGPU probe does not wait in the queue (a browser may take seconds to answer it).
let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  if (data.request?.type === 'backends') {
    glue.probe_webgpu().then(({ response }) => self.postMessage({ id: data.id, response, pixels: new Uint8Array() }));
    return;
  }
  queue = queue.then(() => handle(data));
};

async function handle(data) {
  const { id, request, pixels = new Uint8Array() } = data;
  const files = await inflateFiles(data.files ?? [], maxInflated);
  let reply;
  try {
    reply = session.needs_gpu(request)
      ? await session.handle_gpu(request, files, pixels)
      : session.handle(request, files, pixels);
  } catch (error) {
    // A trap (out of memory, a panic) leaves the module unusable: say so and stop. The page starts a new
    // worker, gives it the data and configuration again and offers to resume (src/web/recovery.rs).
    self.postMessage({ id, trapped: String(error) });
    self.close();
    return;
  }
  self.postMessage({ id, response: reply.response, pixels: reply.pixels }, [reply.pixels.buffer]);
}
self.postMessage({ ready: true });
