// The lab's two WebAssembly builds and which one this browser runs: the relaxed-SIMD build (its GEMM
// micro-kernels multiply-add with f32x4.relaxed_madd, one rounding where the CPU has FMA; built by
// scripts/relaxed-wasm) where the engine validates a tiny module that uses that instruction, the SIMD128 build
// (Trunk's) elsewhere. Both have the same JavaScript API. A plain script, no import or export, so that the
// service worker can load it with importScripts; the page and its workers import it for its one effect:
// `self.backpropLabBuilds`.
(() => {
  // (module (func (param v128 v128 v128) (result v128)
  //   local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))   — 0xfd 0x105: relaxed SIMD's multiply-add
  const RELAXED_MADD = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // types: (v128, v128, v128) -> v128
    0x03, 0x02, 0x01, 0x00, // functions: one, of that type
    0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // its code
  ]);
  self.backpropLabBuilds = {
    // By the SIMD kind each module names in its `backprop-lab-simd` section (src/web/simd_kind.rs).
    files: {
      'relaxed-simd': { glue: 'backprop-lab-relaxed.js', wasm: 'backprop-lab-relaxed_bg.wasm' },
      simd128: { glue: 'backprop-lab.js', wasm: 'backprop-lab_bg.wasm' },
    },
    detect: () => (WebAssembly.validate(RELAXED_MADD) ? 'relaxed-simd' : 'simd128'),
  };
})();
