// www/inflate.js in Node (which has DecompressionStream too): a gzipped tar comes back as the tar, byte for
// byte; everything else comes back as it was, for the Rust loader to read or to reject with its own message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { inflateFiles, inflated } from '../../www/inflate.js';

// A one-member ustar archive: a 512-byte header ("ustar" at 257), the content padded to 512, two zero blocks.
function tar(name, content) {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

const content = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251));
const archive = tar('cifar-10-batches-bin/data_batch_1.bin', content);
const gzipped = new Uint8Array(gzipSync(archive));
const LIMIT = 1 << 29;

test('a gzipped tar archive is inflated by the browser\'s gzip into the tar itself', async () => {
  const [file] = await inflateFiles([{ name: 'cifar-10-binary.tar.gz', bytes: gzipped }], LIMIT);
  assert.equal(file.name, 'cifar-10-binary.tar.gz');
  assert.deepEqual(Buffer.from(file.bytes), archive);
  assert.equal(inflated[0].inflater, 'DecompressionStream');
});

test('a cut or corrupt gzip stream is left to the Rust loader, unchanged', async () => {
  const cut = gzipped.subarray(0, gzipped.length >> 1);
  const corrupt = gzipped.slice();
  corrupt[20] ^= 0xff;
  corrupt[21] ^= 0xff;
  for (const bytes of [cut, corrupt]) {
    const [file] = await inflateFiles([{ name: 'cifar-10-binary.tar.gz', bytes }], LIMIT);
    assert.equal(file.bytes, bytes, 'the same bytes, for the loader to report');
    assert.equal(inflated[0].inflater, 'wasm');
  }
});

test('a gzipped single batch, or an archive beyond the limit, is left to the Rust loader', async () => {
  const batch = new Uint8Array(gzipSync(content));
  const [single] = await inflateFiles([{ name: 'data_batch_1.bin.gz', bytes: batch }], LIMIT);
  assert.equal(single.bytes, batch);
  const [large] = await inflateFiles([{ name: 'cifar-10-binary.tar.gz', bytes: gzipped }], 4096);
  assert.equal(large.bytes, gzipped);
  assert.equal(inflated[0].inflater, 'wasm');
});

test('files that are not gzip pass untouched, and without DecompressionStream nothing is inflated', async () => {
  const plain = [{ name: 'data_batch_1.bin', bytes: new Uint8Array(content) }];
  assert.equal(await inflateFiles(plain, LIMIT), plain);
  const native = globalThis.DecompressionStream;
  try {
    delete globalThis.DecompressionStream;
    const [file] = await inflateFiles([{ name: 'cifar-10-binary.tar.gz', bytes: gzipped }], LIMIT);
    assert.equal(file.bytes, gzipped);
    assert.equal(inflated[0].inflater, 'wasm');
  } finally {
    globalThis.DecompressionStream = native;
  }
});
