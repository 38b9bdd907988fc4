// The training worker: loads the same wasm module as the page and hands every message to the Rust
// session (`WorkerSession`, src/web/worker.rs), so training never blocks the page. The protocol (the
// request and response are the typed `Request` / `Response` of src/session/protocol.rs as JS values):
// page → worker { id, request, files: [{ name, bytes: Uint8Array }], pixels: Uint8Array }
// worker → page { id, response, pixels: Uint8Array } (and once { ready: true } after loading).
import init, { WorkerSession } from './backprop-lab.js';

await init();
const session = new WorkerSession();
self.onmessage = ({ data }) => {
  const { id, request, files = [], pixels = new Uint8Array() } = data;
  const reply = session.handle(request, files, pixels);
  self.postMessage({ id, response: reply.response, pixels: reply.pixels }, [reply.pixels.buffer]);
};
self.postMessage({ ready: true });
