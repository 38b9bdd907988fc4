// The training worker: loads the same wasm module as the page and hands every message to the Rust
// session (`WorkerSession`, src/web/worker.rs), so training never blocks the page. The protocol:
// page → worker { id, request: JSON string, files: [{ name, bytes: Uint8Array }], pixels: Uint8Array }
// worker → page { id, json: JSON string, pixels: Uint8Array } (and once { ready: true } after loading).
import init, { WorkerSession } from './backprop-lab.js';

await init();
const session = new WorkerSession();
self.onmessage = ({ data }) => {
  const { id, request, files = [], pixels = new Uint8Array() } = data;
  const reply = session.handle(request, files, pixels);
  self.postMessage({ id, json: reply.json, pixels: reply.pixels }, [reply.pixels.buffer]);
};
self.postMessage({ ready: true });
