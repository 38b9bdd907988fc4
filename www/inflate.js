// Gzip in the training worker by the browser's own inflater (`DecompressionStream`, native and streaming):
// a dropped `.tar.gz` reaches the Rust loader (src/data/loader.rs) as the tar archive inside it, which the
// loader recognises by content and walks as before. Inflating in wasm (flate2) took most of the time of a
// 160 MB archive; BENCHMARKS.md has the numbers.
//
// The Rust inflater stays the fallback: when the browser has no DecompressionStream, when the stream fails
// (a corrupt or cut archive: the loader then reads the original bytes and gives its own precise message),
// when the content is not a tar archive (a single gzipped batch, whose name the loader strips of `.gz`), or
// when it would exceed `limit` bytes (a "zip bomb"; the loader refuses it member by member).

const GZIP_MAGIC = [0x1f, 0x8b];
const CHUNK = 1 << 20; // bytes handed to the stream at a time, as views of the file (no copy)

// What the last call did, for the tests and measurements: [{ name, inflater, ms }].
export const inflated = [];

// The `{ name, bytes }` entries of a message, gzipped ones replaced by their tar archive where the browser
// can inflate them.
export async function inflateFiles(files, limit) {
  if (!files.some((file) => isGzip(file.bytes))) return files;
  inflated.length = 0;
  return Promise.all(files.map(async (file) => {
    const started = performance.now();
    const tar = await inflateTar(file.bytes, limit);
    const inflater = tar ? 'DecompressionStream' : isGzip(file.bytes) ? 'wasm' : 'none';
    inflated.push({ name: file.name, inflater, ms: performance.now() - started });
    return tar ? { name: file.name, bytes: tar } : file;
  }));
}

function isGzip(bytes) {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

// True when `bytes` start like a tar archive: "ustar" at offset 257 (the loader's own test, looks_like_tar,
// also takes an empty archive, which the fallback handles as well).
function isTar(bytes) {
  const magic = [0x75, 0x73, 0x74, 0x61, 0x72];
  return bytes.length >= 262 && magic.every((byte, i) => bytes[257 + i] === byte);
}

// The gzip trailer's ISIZE: the uncompressed size modulo 2³² (of the last member), a good first guess.
function sizeHint(bytes) {
  const n = bytes.length;
  if (n < 18) return 0;
  return (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
}

// The tar archive inside `bytes`, or null (see the top of the file for when).
async function inflateTar(bytes, limit) {
  if (!isGzip(bytes) || typeof DecompressionStream !== 'function') return null;
  try {
    return await inflateWith(new DecompressionStream('gzip'), bytes, limit);
  } catch {
    return null; // the loader reads the original bytes and says what is wrong with them
  }
}

async function inflateWith(decompression, bytes, limit) {
  const compressed = new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += CHUNK) controller.enqueue(bytes.subarray(at, at + CHUNK));
      controller.close();
    },
  });
  const reader = compressed.pipeThrough(decompression).getReader();
  let out = new Uint8Array(Math.min(Math.max(sizeHint(bytes), CHUNK), limit));
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > limit) {
      await reader.cancel();
      return null;
    }
    if (length + value.length > out.length) {
      const grown = new Uint8Array(Math.min(Math.max(out.length * 2, length + value.length), limit));
      grown.set(out.subarray(0, length));
      out = grown;
    }
    out.set(value, length);
    length += value.length;
    // Not a tar archive after all: stop early and let the loader read the file as it is.
    if (length >= 512 && length - value.length < 512 && !isTar(out)) {
      await reader.cancel();
      return null;
    }
  }
  return isTar(out.subarray(0, length)) ? out.subarray(0, length) : null;
}
